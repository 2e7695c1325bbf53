/** proxy-from-env 2.x ships no types; this is the one function the connector uses. */
declare module 'proxy-from-env' {
  /** The proxy URL the environment names for `url`, or '' when it is to be reached directly. */
  export function getProxyForUrl(url: string | URL): string;
}
