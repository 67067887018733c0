/**
 * Which calls change a value in place. Deliberately generous: a false positive costs one extra
 * artifact, a false negative makes a later step see the value before the change.
 */

/** `x.method(...)` changes `x`. */
export const MUTATING_METHODS: ReadonlySet<string> = new Set([
  // list, dict, set, deque, Counter
  'append', 'extend', 'insert', 'pop', 'remove', 'clear', 'sort', 'reverse', 'update', 'add',
  'discard', 'setdefault', 'popitem', 'difference_update', 'intersection_update',
  'symmetric_difference_update', 'appendleft', 'extendleft', 'popleft', 'rotate', 'subtract',
  // numpy arrays
  'fill', 'resize', 'put', 'itemset', 'partition', 'setflags', 'byteswap',
  // a random generator's draws advance its state (numpy Generator/RandomState, random.Random)
  'random', 'integers', 'normal', 'uniform', 'choice', 'permutation', 'permuted', 'shuffle',
  'standard_normal', 'binomial', 'poisson', 'exponential', 'randint', 'rand', 'randn',
  'random_sample', 'beta', 'gamma', 'lognormal', 'multivariate_normal', 'multinomial', 'gauss',
  'randrange', 'sample', 'getrandbits', 'triangular', 'bytes',
  // scikit-learn and friends: estimators learn in place
  'fit', 'partial_fit', 'fit_transform', 'fit_predict', 'fit_resample', 'set_params',
  'set_output',
  // keras / pytorch / xgboost / lightgbm models and optimisers
  'compile', 'train', 'train_on_batch', 'set_weights', 'load_weights', 'load_state_dict',
  'to', 'cuda', 'cpu', 'eval', 'zero_grad', 'step', 'backward', 'register_buffer',
  'add_module', 'half', 'float', 'double', 'requires_grad_', 'load_model',
  '__setitem__', '__delitem__',
]);

/** `f(x, ...)` changes its first argument. */
export const ARGUMENT_MUTATORS: ReadonlySet<string> = new Set([
  'shuffle', 'heappush', 'heappop', 'heapify', 'heapreplace', 'heappushpop', 'setattr',
  'delattr', 'copyto', 'fill_diagonal', 'place', 'putmask', 'put_along_axis', 'insort',
  'insort_left', 'insort_right',
]);

/** PyTorch's convention: a trailing underscore means in place (`add_`, `fill_`, `zero_`). */
export function isInPlaceMethodName(name: string): boolean {
  return MUTATING_METHODS.has(name) || (/^[a-z]\w*_$/.test(name) && !name.endsWith('__'));
}
