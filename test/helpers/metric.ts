// Samples of an app's /metrics, by their exact series text (name and labels as Prometheus
// prints them): NaN for a series that is not there.
export async function metric(app: { url: string }, series: string): Promise<number> {
  return (await metrics(app, [series]))[0]!;
}

/** Several series from one scrape, so they are read at the same moment. */
export async function metrics(app: { url: string }, series: readonly string[]): Promise<number[]> {
  const lines = (await (await fetch(`${app.url}/metrics`)).text()).split('\n');
  return series.map((s) => {
    const line = lines.find((l) => l.startsWith(s + ' '));
    return line ? Number(line.slice(s.length + 1)) : NaN;
  });
}
