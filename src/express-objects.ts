import http from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';

type Initializer = (this: object, ...args: unknown[]) => void;

/** Node's constructors are plain functions (Node 20, 22): they can initialize an object made elsewhere. */
const callable = (constructor: unknown): constructor is Initializer =>
  typeof constructor === 'function' && !/^class\b/.test(Function.prototype.toString.call(constructor));

/**
 * Request and response classes for node:http whose objects are created with the Express app's
 * prototypes (`app.request`, `app.response`). Otherwise Express swaps the prototype of every request
 * and response it handles (Object.setPrototypeOf in app.handle), which leaves V8 with a new object
 * shape per request and slow property access in everything Node's HTTP code then does with them:
 * measured with bench/, more CPU per request than all of the gateway's own work. Created with the
 * right prototype, Express's swap is a no-op.
 *
 * The objects are made by `new` on these functions (one cached shape) and initialized by Node's own
 * constructors. Should a Node version turn those into classes, nothing changes (Express swaps again).
 */
export function expressServerObjects(app: Express): Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  const incoming: unknown = http.IncomingMessage;
  const outgoing: unknown = http.ServerResponse;
  if (!callable(incoming) || !callable(outgoing)) return {};
  const IncomingMessage: Initializer = incoming;
  const ServerResponse: Initializer = outgoing;
  function ExpressRequest(this: object, socket: Socket): void {
    IncomingMessage.call(this, socket);
  }
  ExpressRequest.prototype = app.request;
  function ExpressResponse(this: object, req: http.IncomingMessage, options?: unknown): void {
    ServerResponse.call(this, req, options);
  }
  ExpressResponse.prototype = app.response;
  return {
    IncomingMessage: ExpressRequest as unknown as typeof http.IncomingMessage,
    ServerResponse: ExpressResponse as unknown as typeof http.ServerResponse,
  };
}
