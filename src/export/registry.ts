import { join } from 'node:path';
import type { MODEL_FORMATS } from '../api/contract.ts';
import type { OutputFile } from '../core/files.ts';
import type { ExportModel } from './model.ts';
import { toOnnx } from './onnx.ts';
import { toSafetensors } from './safetensors.ts';
import { TFJS_WEIGHTS_FILE, toTfjs } from './tfjs.ts';

export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** What an exporter is told besides the model. */
export interface ExportRequest {
  /** a file for onnx and safetensors, a folder for tfjs (model.json + weights.bin) */
  path: string;
  ticketId: string;
  weights: 'trained' | 'initial';
  producer: string;
  /** one sentence on the ticket and where it comes from, written into the file */
  about: string;
}

/** Writes nothing: returns the files (paths and bytes) a ticket's model exports to. */
export type ModelExporter = (model: ExportModel, r: ExportRequest) => OutputFile[];

const text = (s: string) => new TextEncoder().encode(s);

/** Each model format's exporter, one line each. */
export const MODEL_EXPORTERS: Record<ModelFormat, ModelExporter> = {
  onnx: (model, r) => [
    {
      path: r.path,
      bytes: toOnnx(model, {
        producerVersion: r.producer,
        docString: `${r.about}. Input "input": float32 [N, C, H, W], the dataset's pixels / 255 (normalised inside); output "logits".`,
      }),
    },
  ],
  tfjs: (model, r) => {
    const { modelJson, weightsBin } = toTfjs(
      model,
      `${r.about}. Input: float32 [N, H, W, C], pixels / 255 (normalised inside).`,
    );
    return [
      { path: join(r.path, 'model.json'), bytes: text(JSON.stringify(modelJson)) },
      { path: join(r.path, TFJS_WEIGHTS_FILE), bytes: weightsBin },
    ];
  },
  safetensors: (model, r) => {
    const { bytes, architecture } = toSafetensors(model, {
      ticket: r.ticketId,
      weights: r.weights,
      description: r.about,
    });
    const sidecar = r.path.replace(/\.safetensors$/, '') + '.architecture.json';
    return [
      { path: r.path, bytes },
      { path: sidecar, bytes: text(JSON.stringify(architecture, null, 2) + '\n') },
    ];
  },
};
