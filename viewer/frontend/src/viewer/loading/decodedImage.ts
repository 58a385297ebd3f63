/**
 * Uncompressed grey frames decoded by the viewer itself rather than the DICOM image loader: which
 * instances qualify, and the Cornerstone image made from a decoded frame, put in the cache as if the
 * loader had made it (the same fields from the same metadata modules, the IMAGE_LOADED event).
 */

import { Enums, cache, canRenderFloatTextures, eventTarget, metaData, triggerEvent, utilities } from "@cornerstonejs/core";
import type { Types } from "@cornerstonejs/core";
import { getImageFrame } from "@cornerstonejs/dicom-image-loader";

import type { NativeFrame, NativePixelFormat } from "./nativeFrames";

const { MetadataModules } = Enums;
// Their loader scales by more than slope and intercept (SUV, dose grid scaling): left to it.
const LOADER_SCALED_MODALITIES = new Set(["PT", "RTDOSE"]);

interface ModalityLut {
  rescaleSlope?: number;
  rescaleIntercept?: number;
  modalityLUTSequence?: unknown[];
}

/**
 * The format to decode an image's uncompressed frames with (nativeFrames.ts), or null when the image
 * loader must make them: anything but one grey sample of 16 bits, or a rescale beyond slope and intercept.
 */
export function ownDecodeFormat(imageId: string): NativePixelFormat | null {
  const pixel = metaData.get(MetadataModules.IMAGE_PIXEL, imageId) as
    | (Types.ImagePixelModule & { rows: number; columns: number })
    | undefined;
  const series = (metaData.get(MetadataModules.GENERAL_SERIES, imageId) ?? {}) as { modality?: string };
  if (
    !pixel ||
    pixel.samplesPerPixel !== 1 ||
    pixel.bitsAllocated !== 16 ||
    !["MONOCHROME1", "MONOCHROME2"].includes(pixel.photometricInterpretation) ||
    LOADER_SCALED_MODALITIES.has(series.modality ?? "")
  ) {
    return null;
  }
  const lut = (metaData.get(MetadataModules.MODALITY_LUT, imageId) ?? {}) as ModalityLut;
  if (lut.modalityLUTSequence?.length) {
    return null; // a lookup table, not a rescale: the loader attaches it to the image
  }
  const modality = series.modality;
  const rescaleSlope = lut.rescaleSlope ?? 1;
  const rescaleIntercept = lut.rescaleIntercept ?? 0;
  const identity = rescaleSlope === 1 && rescaleIntercept === 0;
  // Without float textures the loader leaves a fractional rescale to the renderer.
  const fractional = !Number.isInteger(rescaleSlope) || !Number.isInteger(rescaleIntercept);
  const scaled = !identity && (!fractional || canRenderFloatTextures());
  return {
    rows: pixel.rows,
    columns: pixel.columns,
    bitsStored: pixel.bitsStored,
    pixelRepresentation: pixel.pixelRepresentation,
    scaling: scaled ? { rescaleSlope, rescaleIntercept, modality } : null,
  };
}

/** Make the image of a frame decoded with ``format`` and put it in the cache. */
export function decodedImageCache(imageId: string, frame: NativeFrame, format: NativePixelFormat, decodeMs: number): void {
  const image = decodedImageMake(imageId, frame, format, decodeMs);
  cache.putImageSync(imageId, image);
  triggerEvent(eventTarget, Enums.Events.IMAGE_LOADED, { image });
}

/** The Cornerstone image of a frame decoded with ``format``, as the image loader would make it. */
export function decodedImageMake(imageId: string, frame: NativeFrame, format: NativePixelFormat, decodeMs: number): Types.IImage {
  const pixelData = frame.pixels;
  const imageFrame = getImageFrame(imageId) as unknown as Types.IImageFrame & Record<string, unknown>;
  const plane = (metaData.get(MetadataModules.IMAGE_PLANE, imageId) ?? {}) as Types.ImagePlaneModule;
  const voi = (metaData.get(MetadataModules.VOI_LUT, imageId) ?? {}) as {
    windowCenter?: number[];
    windowWidth?: number[];
    voiLUTFunction?: string[] | string;
    voiLutFunction?: string;
    voiLUTSequence?: unknown[];
  };
  const lut = (metaData.get(MetadataModules.MODALITY_LUT, imageId) ?? {}) as ModalityLut;
  const calibration = metaData.get(MetadataModules.CALIBRATION, imageId) ?? {};
  imageFrame.pixelData = pixelData;
  imageFrame.pixelDataLength = pixelData.length;
  imageFrame.smallestPixelValue = frame.min;
  imageFrame.largestPixelValue = frame.max;
  imageFrame.decodeTimeInMS = decodeMs;
  if (frame.scaled && format.scaling) {
    imageFrame.preScale = { enabled: true, scaled: true, scalingParameters: { ...format.scaling } };
  }
  const rows = imageFrame.rows;
  const columns = imageFrame.columns;
  const voxelManager = utilities.VoxelManager.createImageVoxelManager({
    scalarData: pixelData,
    width: columns,
    height: rows,
    numberOfComponents: 1,
  });
  const voiLUTFunction = Array.isArray(voi.voiLUTFunction) ? voi.voiLUTFunction[0] : voi.voiLUTFunction;
  const image = {
    imageId,
    dataType: pixelData.constructor.name,
    color: false,
    calibration,
    columnPixelSpacing: plane.columnPixelSpacing,
    columns,
    height: rows,
    preScale: imageFrame.preScale,
    intercept: lut.rescaleIntercept ? lut.rescaleIntercept : 0,
    slope: lut.rescaleSlope ? lut.rescaleSlope : 1,
    invert: imageFrame.photometricInterpretation === "MONOCHROME1",
    minPixelValue: frame.min,
    maxPixelValue: frame.max,
    rowPixelSpacing: plane.rowPixelSpacing,
    rows,
    sizeInBytes: pixelData.byteLength,
    width: columns,
    windowCenter: voi.windowCenter ? voi.windowCenter[0] : undefined,
    windowWidth: voi.windowWidth ? voi.windowWidth[0] : undefined,
    voiLUTFunction: voiLUTFunction || voi.voiLutFunction || undefined,
    decodeTimeInMS: decodeMs,
    floatPixelData: undefined,
    imageFrame,
    voxelManager,
    rgba: false,
    getPixelData: () => pixelData,
    getCanvas: undefined,
    numberOfComponents: 1,
  } as unknown as Types.IImage;
  if (voi.voiLUTSequence?.length) {
    image.voiLUT = voi.voiLUTSequence[0] as Types.CPUFallbackLUT;
  }
  if (image.windowCenter === undefined || image.windowWidth === undefined) {
    const { windowWidth, windowCenter } = utilities.windowLevel.toWindowLevel(frame.min, frame.max);
    image.windowWidth = windowWidth;
    image.windowCenter = windowCenter;
  }
  return image;
}
