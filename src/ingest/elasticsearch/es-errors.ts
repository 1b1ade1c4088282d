// Elasticsearch's error shapes, for whole requests ({"error":{root_cause,type,reason},"status"})
// and for one bulk item ({type, reason}), and the exception type a status is reported as.

export interface EsCause {
  type: string;
  reason: string;
}

export function esErrorBody(status: number, cause: EsCause): string {
  return JSON.stringify({ error: { root_cause: [cause], ...cause }, status });
}

/** The type Elasticsearch names an error of this status with (the reason carries Sluice's message). */
export function esTypeOf(status: number): string {
  switch (status) {
    case 400:
      return 'illegal_argument_exception';
    case 401:
    case 403:
      return 'security_exception';
    case 404:
      return 'resource_not_found_exception';
    case 408:
      return 'timeout_exception';
    case 413:
      return 'content_too_long_exception';
    case 415:
      return 'media_type_header_exception';
    case 429:
      return 'es_rejected_execution_exception';
    default:
      return status >= 500 ? 'unavailable_shards_exception' : 'illegal_argument_exception';
  }
}
