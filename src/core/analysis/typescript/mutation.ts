/**
 * Calls that change their receiver (or first argument) in place. A received value changed this
 * way is an output of the step too, exactly like `lst.append(x)` in Python.
 */
import { ts } from 'ts-morph';

const MUTATING_METHODS = new Set([
  // Array (and typed arrays)
  'push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin',
  // Map, Set, WeakMap, WeakSet (`set` also covers TypedArray#set)
  'set', 'add', 'delete', 'clear',
  // Date
  'setDate', 'setFullYear', 'setHours', 'setMilliseconds', 'setMinutes', 'setMonth', 'setSeconds', 'setTime',
  'setUTCDate', 'setUTCFullYear', 'setUTCHours', 'setUTCMilliseconds', 'setUTCMinutes', 'setUTCMonth', 'setUTCSeconds',
]);

/**
 * Methods of the builtins that leave their receiver as it was. Any other method may change it:
 * `graph.addEdge(a, b)` on an instance of the notebook's own class is as much a change as
 * `rows.push(x)`. Deliberately generous, as in the Python analysis: a false positive costs one
 * extra artifact, a false negative makes a later step see the value before the change.
 */
const READ_ONLY_METHODS = new Set([
  // Array, typed arrays, String (shared names once)
  'at', 'concat', 'entries', 'every', 'filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'flat', 'flatMap',
  'forEach', 'includes', 'indexOf', 'join', 'keys', 'lastIndexOf', 'map', 'reduce', 'reduceRight', 'slice', 'some',
  'toReversed', 'toSorted', 'toSpliced', 'values', 'with', 'subarray',
  'charAt', 'charCodeAt', 'codePointAt', 'endsWith', 'localeCompare', 'match', 'matchAll', 'normalize', 'padEnd',
  'padStart', 'repeat', 'replace', 'replaceAll', 'search', 'split', 'startsWith', 'substring', 'toLowerCase',
  'toUpperCase', 'toLocaleLowerCase', 'toLocaleUpperCase', 'trim', 'trimEnd', 'trimStart',
  // Map, Set, Object.prototype, Number, RegExp, Promise, Function
  'get', 'has', 'difference', 'intersection', 'union', 'symmetricDifference', 'isSubsetOf', 'isSupersetOf',
  'isDisjointFrom', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toString', 'toLocaleString',
  'valueOf', 'toJSON', 'toFixed', 'toPrecision', 'toExponential', 'test', 'exec', 'then', 'catch', 'finally',
  'call', 'apply', 'bind',
  // Date getters and formatting
  'getDate', 'getDay', 'getFullYear', 'getHours', 'getMilliseconds', 'getMinutes', 'getMonth', 'getSeconds',
  'getTime', 'getTimezoneOffset', 'getUTCDate', 'getUTCDay', 'getUTCFullYear', 'getUTCHours', 'getUTCMilliseconds',
  'getUTCMinutes', 'getUTCMonth', 'getUTCSeconds', 'toDateString', 'toISOString', 'toLocaleDateString',
  'toLocaleTimeString', 'toTimeString', 'toUTCString',
]);

/** `Object.assign(target, ...)` and friends change their first argument. */
const MUTATING_STATICS = new Map<string, ReadonlySet<string>>([
  ['Object', new Set(['assign', 'defineProperty', 'defineProperties', 'setPrototypeOf'])],
  ['Reflect', new Set(['set', 'defineProperty', 'deleteProperty', 'setPrototypeOf'])],
]);

/** The expression a call mutates in place, if it is a known mutating call. */
export function mutatedByCall(call: ts.CallExpression): ts.Expression | undefined {
  const callee = call.expression;
  if (!ts.isPropertyAccessExpression(callee)) return undefined;
  const method = callee.name.text;
  const statics = ts.isIdentifier(callee.expression) ? MUTATING_STATICS.get(callee.expression.text) : undefined;
  if (statics) return statics.has(method) ? call.arguments[0] : undefined;
  return MUTATING_METHODS.has(method) || !READ_ONLY_METHODS.has(method) ? callee.expression : undefined;
}
