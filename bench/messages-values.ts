/**
 * The values bench/messages.bench.ts sends, shared by its ukern LWPs and its
 * postMessage peer (messages-peer.ts) so both carry the same objects, made
 * the same way (a fresh object per message, as a real producer makes them).
 */
export type Kind = 'small' | 'str1k';

const TAGS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const STRINGS = Array.from({ length: 64 }, (_, i) => 's'.repeat(1024 - 4) + String(i).padStart(4, '0'));

/** The small object: { id, name, tags: [8 strings], values: Float64Array(8) }. */
export interface Small { id: number; name: string; tags: string[]; values: Float64Array }

export function makeValue(kind: Kind, i: number): Small | string {
  if (kind === 'str1k') return STRINGS[i & 63]!;
  const values = new Float64Array(8);
  for (let k = 0; k < 8; k++) values[k] = i + k * 0.5;
  return { id: i, name: `item-${i}`, tags: TAGS.slice(), values };
}
