/** The HTTP server a generated package carries when its notebook has a `serve` cell (issue 14). */
import type { GeneratedFile } from '../files';
// Copied verbatim into the package, like _runtime.py: it depends on nothing of ours.
import SERVE_PY from './_serve.py';

/** `_serve.py`'s text: `python -m <pkg>._serve --bundle DIR` serves the bundle (README of the file). */
export const SERVE_SOURCE: string = SERVE_PY;

/** The files to add to package `pkg` when the plan has a serve section. */
export function servingRuntimeFiles(pkg: string): GeneratedFile[] {
  return [{ path: `${pkg}/_serve.py`, content: SERVE_SOURCE }];
}
