// DKIM and ARC public keys parsed once, not per message. mailauth parses the key record
// of every signature it checks into a new key object, which costs more than verifying
// the signature itself; a busy server sees the same few keys over and over. Its key
// lookup is wrapped so that the record is still looked up every time (a changed or
// revoked key takes effect at once), but a record seen before reuses its parsed key.
// mailauth's verifier takes the lookup function when it is first loaded, so the wrapper
// is installed before then (loadVerifier).

type KeyResult = { publicKey: unknown; rr: string; modulusLength?: number };
type GetPublicKey = (
  type: string,
  name: string,
  minBitLength: number,
  resolver: (name: string, rrtype: string) => Promise<unknown>,
) => Promise<KeyResult>;

const MAX_KEYS = 1000;
const parsed = new Map<string, KeyResult>();

let installed: Promise<void> | null = null;

function install(): Promise<void> {
  installed ??= (async () => {
    const mod = (await import('mailauth/lib/tools.js')) as unknown as {
      default: { getPublicKey: GetPublicKey };
    };
    const tools = mod.default;
    const original = tools.getPublicKey;
    tools.getPublicKey = async (type, name, minBitLength, resolver) => {
      const answer = await resolver(name, 'TXT');
      const key = `${type}\n${minBitLength}\n${JSON.stringify(answer)}`;
      const hit = parsed.get(key);
      if (hit) return hit;
      const r = await original(type, name, minBitLength, async () => answer);
      if (parsed.size >= MAX_KEYS) parsed.delete(parsed.keys().next().value as string);
      parsed.set(key, r);
      return r;
    };
  })();
  return installed;
}

/** mailauth's DKIM verifier and ARC verifier, with the key cache in place. */
export async function loadVerifier() {
  await install();
  const [{ dkimVerify }, { arc }] = await Promise.all([
    import('mailauth/lib/dkim/verify.js'),
    import('mailauth/lib/arc/index.js'),
  ]);
  return { dkimVerify, arc };
}
