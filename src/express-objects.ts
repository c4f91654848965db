import http from 'node:http';
import type { Express } from 'express';

/**
 * Makes `prototype` the app's `request` or `response` object: it takes the place of the one Express
 * made (same prototype chain, same own properties: `app`), so Express's per-request
 * `Object.setPrototypeOf(req, app.request)` finds the prototype already in place.
 */
function installAs(app: Express, key: 'request' | 'response', prototype: object): void {
  const current = app[key] as object;
  Object.setPrototypeOf(prototype, Object.getPrototypeOf(current));
  const { constructor: _constructor, ...own } = Object.getOwnPropertyDescriptors(current);
  Object.defineProperties(prototype, own);
  app[key] = prototype as never;
}

/**
 * Request and response classes for node:http whose objects are created with the Express app's
 * prototypes. Otherwise Express swaps the prototype of every request and response it handles
 * (Object.setPrototypeOf in app.handle), which leaves V8 with a new object shape per request and
 * slow property access in everything Node's HTTP code then does with them: measured with bench/,
 * more CPU per request than all of the gateway's own work.
 *
 * They are subclasses, not plain functions that call Node's constructors on an object made
 * elsewhere: V8 sizes an object for the properties its constructor is seen to add, and a response
 * made by such a function got none, so the ~30 properties ServerResponse adds overflowed and the
 * object went to dictionary mode (~1.2 µs more per response to make, and every property access of
 * Node's HTTP code on it a hash look-up; bench/README.md section 29). A subclass's objects have the
 * layout of Node's own.
 */
export function expressServerObjects(app: Express): Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  class ExpressRequest extends http.IncomingMessage {}
  class ExpressResponse extends http.ServerResponse {}
  installAs(app, 'request', ExpressRequest.prototype);
  installAs(app, 'response', ExpressResponse.prototype);
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse as typeof http.ServerResponse };
}
