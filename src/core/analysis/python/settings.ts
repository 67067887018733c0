/**
 * Statements that configure the Python process rather than compute a value: logging and warning
 * filters, pandas/numpy/matplotlib display options, environment variables. Each step of a
 * pipeline runs in the same process on a whole run, so a setting made in one step reaches the
 * next; a step run on its own (`--only`, `--from`) must have the earlier ones replayed first.
 */
import type { ProcessSetting } from '../types';
import { PYTHON_BUILTINS } from './builtins';
import type { SyntaxNode } from './parser';

/** Calls (by their last attribute) that change process-wide state and return nothing of use. */
const SETTING_CALLS = new Set([
  'basicConfig', 'captureWarnings', 'disable', 'setLevel', // logging
  'filterwarnings', 'simplefilter', 'resetwarnings', // warnings
  'set_option', 'reset_option', // pandas
  'set_printoptions', 'seterr', // numpy
  'use', 'set_theme', 'set_style', 'set_context', 'set_palette', // matplotlib styles, seaborn
]);

const PATHS = new Set(['attribute', 'subscript']);

/**
 * The statement as a setting: a call of a setting function on a dotted name
 * (`logging.basicConfig(...)`, `logging.getLogger("x").setLevel(...)`) or an assignment into a
 * dotted name's attribute or item (`pd.options.display.max_rows = 10`, `os.environ["K"] = "v"`).
 * `reads` are the names it needs (builtins left out); the planner keeps it only when all are imports.
 */
export function processSetting(statement: SyntaxNode): ProcessSetting | undefined {
  if (statement.type !== 'expression_statement' || statement.namedChildCount !== 1) return undefined;
  const expression = statement.namedChildren[0];
  if (expression.type === 'call') {
    const callee = expression.childForFieldName('function');
    const name = callee?.type === 'attribute' ? callee.childForFieldName('attribute')?.text : undefined;
    if (!name || !SETTING_CALLS.has(name)) return undefined;
  } else if (expression.type === 'assignment') {
    const left = expression.childForFieldName('left');
    if (!left || !PATHS.has(left.type) || expression.childForFieldName('type')) return undefined;
  } else {
    return undefined;
  }
  return { code: statement.text, reads: [...new Set(namesRead(expression))].filter((name) => !PYTHON_BUILTINS.has(name)) };
}

function namesRead(node: SyntaxNode): string[] {
  if (node.type === 'identifier') return [node.text];
  if (node.type === 'lambda' || node.type.endsWith('comprehension') || node.type === 'generator_expression') return ['<scoped>'];
  const skipped = new Set<SyntaxNode | null>();
  if (node.type === 'attribute') skipped.add(node.childForFieldName('attribute'));
  if (node.type === 'keyword_argument') skipped.add(node.childForFieldName('name'));
  return node.namedChildren.filter((child) => !skipped.has(child)).flatMap(namesRead);
}
