import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';

/**
 * Fetches an image URL, turning a failed request or a non-2xx answer into NETWORK_ERROR (and an
 * abort into ABORTED). `hint` says what to check where the request could not be made at all.
 */
export async function fetchImage(
  url: string,
  signal: AbortSignal | undefined,
  hint: string,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (cause) {
    throwIfAborted(signal, 'image download');
    throw new PaliError(ERROR_CODES.NETWORK_ERROR, `Could not fetch ${url}`, { hint, cause });
  }
  if (!response.ok) {
    throw new PaliError(ERROR_CODES.NETWORK_ERROR, `Fetching ${url} answered ${response.status}`, {
      hint: 'Check the URL',
      details: { status: response.status },
    });
  }
  return response;
}
