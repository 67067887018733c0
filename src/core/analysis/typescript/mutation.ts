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
  return MUTATING_METHODS.has(method) ? callee.expression : undefined;
}
