/// <reference lib="dom" />
/** What every webview page needs: the VS Code API (typed by the page's messages and state) and its stylesheet. */

interface VsCodeApi<Out, State> {
  postMessage(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<Out, State>(): VsCodeApi<Out, State>;

/** `acquireVsCodeApi` may be called once per page. */
export function vscodeApi<Out, State>(): VsCodeApi<Out, State> {
  return acquireVsCodeApi<Out, State>();
}

/**
 * The page's CSS as a <style> element carrying the script's nonce: the Content-Security-Policy
 * allows no inline style without it (and no 'unsafe-inline' at all).
 */
export function setupPage(css: string): void {
  const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? document.querySelector<HTMLScriptElement>('script[nonce]')?.nonce ?? '';
  const style = document.createElement('style');
  style.nonce = nonce;
  style.textContent = css;
  document.head.appendChild(style);
}
