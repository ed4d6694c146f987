/**
 * Reading a decoded ImageBitmap's RGBA without premultiplication. A 2D canvas stores premultiplied
 * pixels, so colours under partial alpha come back rounded (and black where alpha is 0); a WebGL2
 * texture upload with UNPACK_PREMULTIPLY_ALPHA_WEBGL off keeps the bytes as decoded. The canvas is
 * the fallback where WebGL2 is missing or the image exceeds the texture size limit.
 */
export function readRgbaWebgl(bitmap: ImageBitmap): Uint8Array | undefined {
  if (typeof OffscreenCanvas === 'undefined') return undefined;
  const { width, height } = bitmap;
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2', { premultipliedAlpha: false, antialias: false });
  if (!gl) return undefined;
  const texture = gl.createTexture();
  const framebuffer = gl.createFramebuffer();
  try {
    const max = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    if (width > max || height > max) return undefined;
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return undefined;
    gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
    const out = new Uint8Array(width * height * 4);
    // Texture row 0 (the image's top row) is framebuffer row 0, which readPixels returns first.
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out);
    return gl.getError() === gl.NO_ERROR ? out : undefined;
  } catch {
    return undefined;
  } finally {
    gl.deleteFramebuffer(framebuffer);
    gl.deleteTexture(texture);
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

/** The 2D-canvas route (premultiplied storage: exact for opaque pixels only). */
export function readRgbaCanvas(bitmap: ImageBitmap): Uint8ClampedArray | undefined {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!context) return undefined;
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' }).data;
}
