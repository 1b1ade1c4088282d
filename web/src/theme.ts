// Light and dark themes: "auto" follows prefers-color-scheme (pure CSS); a chosen theme is
// kept in localStorage and set as data-theme on <html>, which the stylesheet honours.
export type ThemeChoice = 'auto' | 'light' | 'dark';
const KEY = 'sluice.theme';

export function storedTheme(): ThemeChoice {
  const t = localStorage.getItem(KEY);
  return t === 'light' || t === 'dark' ? t : 'auto';
}

export function nextTheme(t: ThemeChoice): ThemeChoice {
  return t === 'auto' ? 'light' : t === 'light' ? 'dark' : 'auto';
}

export function applyTheme(t: ThemeChoice): void {
  if (t === 'auto') {
    localStorage.removeItem(KEY);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(KEY, t);
    document.documentElement.dataset.theme = t;
  }
  window.dispatchEvent(new Event('sluice:theme'));
}
