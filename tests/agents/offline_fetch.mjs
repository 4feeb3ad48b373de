// Preloaded into a Node CLI (NODE_OPTIONS=--import=<this file>) that calls home with no setting to
// turn it off: every fetch() to a host other than loopback fails at once, as it would offline,
// instead of leaving the machine. Continue CLI 1.5.47 sends GET https://api.continue.dev/cn/info?id=
// <machine id> when its version module loads (src/version.ts), whatever the config or env says.
const realFetch = globalThis.fetch;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

globalThis.fetch = async function offlineFetch(input, init) {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (!LOOPBACK.has(url.hostname)) {
    throw new TypeError(`fetch failed: ${url.origin} blocked (agents tier runs offline)`);
  }
  return realFetch(input, init);
};
