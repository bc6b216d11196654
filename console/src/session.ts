/**
 * Secrets the user types (the API key, the metrics token) live in this tab's sessionStorage and
 * nowhere else: gone when the tab closes, never in localStorage, a cookie or a URL.
 */
import { useState } from 'preact/hooks';

export const API_KEY_ITEM = 'remit-console.api-key';
export const METRICS_TOKEN_ITEM = 'remit-console.metrics-token';

function read(item: string): string {
  try {
    return sessionStorage.getItem(item) ?? '';
  } catch {
    return '';
  }
}

export function useSessionSecret(item: string): [string, (value: string) => void] {
  const [value, setValue] = useState(() => read(item));
  const set = (next: string) => {
    try {
      if (next) sessionStorage.setItem(item, next);
      else sessionStorage.removeItem(item);
    } catch {
      // Storage refused (a private window's quota): the value still lives in memory for this page.
    }
    setValue(next);
  };
  return [value, set];
}
