// One sample of an app's /metrics, by its exact series text (name and labels as Prometheus
// prints them): NaN when the series is not there.
export async function metric(app: { url: string }, series: string): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}
