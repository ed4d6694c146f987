import { ERROR_CODES, PaliError } from '@pali/errors';

/** Facts every Hub error carries in `details`, so programs can branch without parsing text. */
export interface HubErrorDetails {
  url: string;
  status?: number;
  /** The Hub's `X-Error-Code` (RepoNotFound, EntryNotFound, RevisionNotFound, GatedRepo). */
  hubErrorCode?: string;
  repo?: string;
  [key: string]: unknown;
}

/**
 * Turns a failed Hub response into a PaliError the way huggingface_hub's hf_raise_for_status reads
 * it: `X-Error-Code` first, then the status. The Hub answers 401 both for gated repos and, to hide
 * private repos, for missing ones; only GatedRepo tells them apart.
 */
export function hubErrorFromResponse(
  response: Pick<Response, 'status' | 'headers'>,
  url: string,
  ctx: { repo: string; path?: string; revision?: string; hadToken: boolean; endpoint: string },
): PaliError {
  const status = response.status;
  const hubErrorCode = response.headers.get('x-error-code') ?? undefined;
  const hubMessage = response.headers.get('x-error-message') ?? undefined;
  const details: HubErrorDetails = { url, status, repo: ctx.repo };
  if (hubErrorCode) details.hubErrorCode = hubErrorCode;
  if (hubMessage) details.hubMessage = hubMessage;
  const page = `${ctx.endpoint}/${ctx.repo}`;

  if (status === 401 && hubMessage === 'Invalid credentials in Authorization header') {
    return new PaliError(ERROR_CODES.NETWORK_ERROR, `The Hub rejected the access token (${url})`, {
      hint: `HF_TOKEN (or the token option) is not a valid token; create one at ${ctx.endpoint}/settings/tokens`,
      details,
    });
  }
  if (hubErrorCode === 'GatedRepo' || ((status === 401 || status === 403) && !hubErrorCode && ctx.hadToken)) {
    const gated = hubErrorCode === 'GatedRepo';
    const what = gated ? `${ctx.repo} is a gated repo` : `Access to ${ctx.repo} was refused (HTTP ${status})`;
    const hint = ctx.hadToken
      ? `Accept the licence on ${page} with the account that owns your token, and check that HF_TOKEN holds a valid read token`
      : `Accept the licence on ${page}, create a read token at ${ctx.endpoint}/settings/tokens and set HF_TOKEN (or pass the token option)`;
    return new PaliError(ERROR_CODES.NETWORK_ERROR, `${what} and this request was not authorised (${url})`, {
      hint,
      details: { ...details, gated },
    });
  }
  if (hubErrorCode === 'EntryNotFound') {
    return new PaliError(ERROR_CODES.NOT_FOUND, `${ctx.path ?? 'The file'} is not in ${ctx.repo} (${url})`, {
      hint: `Check the file name on ${page}/tree/${ctx.revision ?? 'main'}`,
      details,
    });
  }
  if (hubErrorCode === 'RevisionNotFound') {
    return new PaliError(
      ERROR_CODES.NOT_FOUND,
      `Revision ${JSON.stringify(ctx.revision)} is not in ${ctx.repo} (${url})`,
      { hint: 'Use an existing branch, tag or commit hash', details },
    );
  }
  if (hubErrorCode === 'RepoNotFound' || status === 401 || status === 404) {
    const hint = ctx.hadToken
      ? 'Check the repo id; for a private repo, check that your token can read it'
      : 'Check the repo id; a private or gated repo needs HF_TOKEN set to a token with access';
    return new PaliError(ERROR_CODES.NOT_FOUND, `Repo ${ctx.repo} was not found on the Hub (${url})`, {
      hint,
      details,
    });
  }
  return new PaliError(ERROR_CODES.NETWORK_ERROR, `The Hub answered HTTP ${status} for ${url}`, {
    hint:
      status >= 500 || status === 429
        ? 'The Hub is busy or down; try again later'
        : 'Check the URL and options',
    details,
  });
}

/** A request that got no HTTP answer at all (refused, reset, DNS). */
export function networkError(url: string, cause: unknown): PaliError {
  return new PaliError(ERROR_CODES.NETWORK_ERROR, `Could not reach ${url}`, {
    hint: 'Check your connection and HF_ENDPOINT; set HF_HUB_OFFLINE=1 to use only files already cached',
    cause,
    details: { url },
  });
}

export function abortError(signal: AbortSignal | undefined, what: string): PaliError {
  return new PaliError(ERROR_CODES.ABORTED, `The ${what} was cancelled`, { cause: signal?.reason });
}

export function isAbortLike(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return true;
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
