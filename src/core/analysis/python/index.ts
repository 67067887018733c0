/** The Python cell analyser. The parser is WebAssembly, so creating one is asynchronous. */
import type { CellAnalyzer } from '../types';
import { PythonCellAnalyzer } from './analyzer';
import { createPythonParser } from './parser';

export { preferQuickStart } from './parser';

export async function createPythonAnalyzer(): Promise<CellAnalyzer> {
  return new PythonCellAnalyzer(await createPythonParser());
}
