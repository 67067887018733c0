/**
 * Names a cell may read without any earlier cell binding them: ECMAScript globals, the Node.js
 * and Deno globals, and the web platform APIs both runtimes provide. Browser-only window
 * properties (`name`, `status`, `top`, `location`...) are deliberately absent: they are
 * ordinary variable names in notebooks, and treating them as builtins would hide real inputs.
 */
const ECMASCRIPT = [
  'globalThis', 'undefined', 'NaN', 'Infinity', 'eval', 'isFinite', 'isNaN', 'parseFloat', 'parseInt',
  'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape',
  'Object', 'Function', 'Boolean', 'Symbol', 'Error', 'AggregateError', 'EvalError', 'RangeError',
  'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'Number', 'BigInt', 'Math', 'Date', 'String',
  'RegExp', 'Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array',
  'BigUint64Array', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'ArrayBuffer',
  'SharedArrayBuffer', 'DataView', 'Atomics', 'JSON', 'Promise', 'Proxy', 'Reflect', 'Intl', 'Iterator',
  'arguments',
];

const NODE = [
  'process', 'Buffer', 'global', 'console', 'require', 'module', 'exports', '__dirname', '__filename',
  'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
  'queueMicrotask', 'structuredClone',
];

const WEB_PLATFORM = [
  'fetch', 'Request', 'Response', 'Headers', 'FormData', 'File', 'Blob', 'URL', 'URLSearchParams', 'URLPattern',
  'TextEncoder', 'TextDecoder', 'TextEncoderStream', 'TextDecoderStream', 'AbortController', 'AbortSignal',
  'Event', 'EventTarget', 'CustomEvent', 'MessageChannel', 'MessagePort', 'MessageEvent', 'BroadcastChannel',
  'DOMException', 'WebSocket', 'WebAssembly', 'crypto', 'Crypto', 'CryptoKey', 'SubtleCrypto', 'performance',
  'Performance', 'PerformanceEntry', 'PerformanceMark', 'PerformanceMeasure', 'PerformanceObserver',
  'navigator', 'Navigator', 'atob', 'btoa', 'ReadableStream', 'WritableStream', 'TransformStream',
  'ReadableStreamDefaultReader', 'WritableStreamDefaultWriter', 'ByteLengthQueuingStrategy',
  'CountQueuingStrategy', 'CompressionStream', 'DecompressionStream', 'Worker', 'Intl', 'reportError',
  'Storage', 'localStorage', 'sessionStorage', 'caches', 'ProgressEvent', 'ErrorEvent', 'CloseEvent',
  'alert', 'confirm', 'prompt', 'self', 'window',
];

/** Deno and the notebook kernels (`Deno.jupyter`, tslab's display helpers are imported, not global). */
const RUNTIMES = ['Deno'];

export const JS_GLOBALS: ReadonlySet<string> = new Set([...ECMASCRIPT, ...NODE, ...WEB_PLATFORM, ...RUNTIMES]);
