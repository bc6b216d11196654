/**
 * One figure with its label, as both views show them. `data-metric` names it and `data-value` holds
 * the number behind the text (and `data-total` a count since start), for tests and scripts to read.
 */
export function Tile(props: { metric: string; label: string; value: string | undefined; raw?: number | undefined; total?: number; tone?: 'good' | 'warn' | 'bad' | undefined }) {
  return (
    <div class={`tile ${props.tone ?? ''}`} data-metric={props.metric} data-value={props.raw ?? ''} data-total={props.total ?? ''}>
      <span class="tile-label">{props.label}</span>
      <output class="tile-value">{props.value ?? '–'}</output>
      {props.total !== undefined && <span class="tile-total">{props.total} since start</span>}
    </div>
  );
}
