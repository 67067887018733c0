import { Nb2prodError } from '../errors';

export interface DetectedLanguage {
  language: 'python' | 'typescript' | 'javascript';
  kernelName?: string;
}

const TS_KERNELS: Record<string, 'typescript' | 'javascript'> = {
  deno: 'typescript',
  tslab: 'typescript',
  jslab: 'javascript',
  javascript: 'javascript',
  typescript: 'typescript',
};

/**
 * Picks the analyser. Notebooks without kernel metadata (common in old test files) are Python,
 * as Jupyter itself assumes.
 */
export function detectLanguage(metadata: Record<string, unknown>, file: string): DetectedLanguage {
  const spec = typeof metadata.kernelspec === 'object' && metadata.kernelspec ? (metadata.kernelspec as Record<string, unknown>) : {};
  const info = typeof metadata.language_info === 'object' && metadata.language_info ? (metadata.language_info as Record<string, unknown>) : {};
  const kernelName = typeof spec.name === 'string' ? spec.name : undefined;
  const declared = [spec.language, info.name, metadata.language].find((v): v is string => typeof v === 'string' && v !== '');
  const lang = declared?.toLowerCase();
  const kernelLang = kernelName ? TS_KERNELS[kernelName.toLowerCase()] : undefined;
  if (kernelLang && (!lang || lang === 'typescript' || lang === 'javascript')) {
    return { language: lang === 'javascript' || lang === 'typescript' ? lang : kernelLang, kernelName };
  }
  if (!lang || lang === 'python' || lang === 'python3' || lang === 'ipython') return { language: 'python', kernelName };
  if (lang === 'typescript' || lang === 'javascript') return { language: lang, kernelName };
  const shown = spec.display_name ?? kernelName ?? declared;
  throw new Nb2prodError(
    `kernel ${JSON.stringify(shown)} (language ${declared}) is not supported yet; supported: Python, TypeScript, JavaScript`,
    { file },
    'UNSUPPORTED_KERNEL',
  );
}
