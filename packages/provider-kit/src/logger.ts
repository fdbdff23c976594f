/**
 * What a provider may log through: the server hands its logger (pino) in; the shape is pino's
 * `(object, message)`. A provider logs what it decided and skipped, never credentials.
 */
export interface ProviderLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLogger: ProviderLogger = { debug() {}, warn() {} };
