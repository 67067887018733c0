// Entry of dist/dockerode.js: dockerode with ssh2 and grpc (about 1.7 MB) in a file of its own,
// so starting the CLI or activating the extension never parses it; the Docker engine loads it.
import Dockerode from 'dockerode';

export default Dockerode;
