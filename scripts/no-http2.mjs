/**
 * Stands in for http2-wrapper in the bundle (scripts/bundle.mjs). got imports it at load time but
 * calls it only when a request sets `http2: true`, which the connector never does (Salesforce's REST
 * API is HTTP/1.1). Loading the real module cost ~25 ms of start-up CPU per run (it loads Node's
 * http2): every command is a fresh process.
 */
const unused = () => {
  throw new Error('HTTP/2 is not used by this connector');
};
export default { auto: unused, globalAgent: undefined };
