/** Every error the gateway answers with has one of these codes; the HTTP status follows from it. */
const STATUS_BY_CODE = {
  bad_request: 400,
  unauthenticated: 401,
  invalid_token: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  gone: 410,
  length_required: 411,
  payload_too_large: 413,
  too_many_requests: 429,
  internal_error: 500,
  bad_gateway: 502,
  service_unavailable: 503,
  gateway_timeout: 504,
} as const;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

export class GatewayError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    /** A finer cause from a small fixed set ('expired', 'csrf', …) for metrics and the audit trail. */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = STATUS_BY_CODE[code];
  }
}

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  requestId: string;
}
