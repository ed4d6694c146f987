// The model runs here, off the page's thread: @pali/web's worker entry answers the engine protocol.
import '@pali/web/worker';
