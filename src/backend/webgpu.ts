/// <reference types="@webgpu/types" />
/**
 * WebGPU through Dawn's Node binding (the optional npm package `webgpu`), shared by the tfjs
 * WebGPU backend (`@tensorflow/tfjs-backend-webgpu`, optional too) and tdlab's own WGSL training
 * engine (src/train/webgpu/). One device per process.
 *
 * Adapter choice: Dawn backends are tried in order (Linux: Vulkan, then OpenGL ES; macOS: Metal;
 * Windows: D3D12, then Vulkan; `TDLAB_DAWN_BACKENDS=opengles,...` overrides). A hardware adapter
 * on any backend wins. A software rasteriser (Mesa llvmpipe/lavapipe/softpipe, SwiftShader, WARP,
 * or an adapter Dawn marks as fallback) is taken only when the caller allows it (an explicit
 * `--backend webgpu`); OpenGL ES runs in WebGPU compatibility mode and, on Mesa without a
 * display, needs EGL_PLATFORM=surfaceless, which is set here when unset.
 */

import {existsSync} from 'node:fs';
import {join} from 'node:path';

/** What provenance.json records about the adapter. Strings are as Dawn reports them (may be empty). */
export interface AdapterRecord {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The Dawn backend the adapter came from: vulkan, opengles, metal, d3d12. */
  dawnBackend: string;
  /** 'core' or 'compatibility' (OpenGL ES). */
  featureLevel: 'core' | 'compatibility';
  /** A CPU rasteriser: correct, but slow; never chosen by `--backend auto`. */
  software: boolean;
}

export interface OpenedWebGPU {
  device: GPUDevice;
  adapter: AdapterRecord;
  /** Why other Dawn backends/adapters were passed over. */
  skipped: string[];
}

type DawnModule = {create: (opts: string[]) => GPU; globals: Record<string, unknown>};

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|microsoft basic render|\bwarp\b/i;

/** True for CPU rasterisers (by Dawn's fallback flag or the adapter's names). */
export function isSoftwareAdapter(info: {vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean}): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' '));
}

function dawnBackends(): string[] {
  const env = process.env.TDLAB_DAWN_BACKENDS;
  if (env) return env.split(',').map((s) => s.trim()).filter(Boolean);
  if (process.platform === 'darwin') return ['metal'];
  if (process.platform === 'win32') return ['d3d12', 'vulkan'];
  return ['vulkan', 'opengles'];
}

/**
 * Whether the Vulkan loader (libvulkan.so.1) is on this Linux machine: without it Dawn prints a
 * warning on every start, so the Vulkan backend is not tried (the reason goes to `skipped`).
 */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

let opened: OpenedWebGPU | undefined;
/** Dawn instances must outlive their adapters and devices: a collected instance takes its device down. */
const instances: GPU[] = [];

/**
 * Opens a WebGPU device (once per process). Throws with a short reason when the binding is not
 * installed or no acceptable adapter exists.
 */
export async function openWebGPU(opts: {allowSoftware: boolean}): Promise<OpenedWebGPU> {
  if (opened) {
    if (opened.adapter.software && !opts.allowSoftware) throw new Error(`only a software adapter (${opened.adapter.device || opened.adapter.description})`);
    return opened;
  }
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    const e = err as {code?: string};
    throw new Error(e.code === 'ERR_MODULE_NOT_FOUND' ? 'the optional package webgpu is not installed' : `the webgpu binding did not load (${String((err as Error).message).split('\n')[0]})`);
  }
  // Dawn's GPU* classes (GPUBufferUsage, GPUShaderStage, ...) as globals, as in a browser
  Object.assign(globalThis, dawn.globals);
  const skipped: string[] = [];
  let software: {adapter: GPUAdapter; backend: string; level: 'core' | 'compatibility'} | undefined;
  let chosen: {adapter: GPUAdapter; backend: string; level: 'core' | 'compatibility'} | undefined;
  for (const backend of dawnBackends()) {
    if (backend === 'vulkan' && !vulkanLoaderPresent()) {
      skipped.push('vulkan: no Vulkan loader (libvulkan.so.1)');
      continue;
    }
    const level = backend === 'opengles' || backend === 'opengl' ? 'compatibility' : 'core';
    if (level === 'compatibility' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    let adapter: GPUAdapter | null = null;
    try {
      const gpu = dawn.create([`backend=${backend}`]);
      instances.push(gpu);
      adapter = await gpu.requestAdapter({powerPreference: 'high-performance', featureLevel: level} as GPURequestAdapterOptions);
    } catch (err) {
      skipped.push(`${backend}: ${String((err as Error).message).split('\n')[0]}`);
      continue;
    }
    if (!adapter) {
      skipped.push(`${backend}: no adapter`);
      continue;
    }
    if (isSoftwareAdapter(adapter.info)) {
      skipped.push(`${backend}: software adapter ${adapter.info.device || adapter.info.description}`);
      software ??= {adapter, backend, level};
      continue;
    }
    chosen = {adapter, backend, level};
    break;
  }
  if (!chosen && software && opts.allowSoftware) {
    chosen = software;
    skipped.pop();
  }
  if (!chosen) throw new Error(software ? `only a software adapter (${software.adapter.info.device || software.adapter.info.description})` : `no WebGPU adapter (${skipped.join('; ')})`);
  const a = chosen.adapter;
  const lim = a.limits;
  // the limits tfjs-webgpu asks for, and enough storage buffers per stage for tdlab's kernels
  const device = await a.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: lim.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
    },
  });
  const info = a.info;
  opened = {
    device,
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
      dawnBackend: chosen.backend,
      featureLevel: chosen.level,
      software: isSoftwareAdapter(info),
    },
    skipped,
  };
  return opened;
}

/**
 * Registers tfjs's WebGPU backend on the opened device and selects it. tfjs-backend-webgpu looks
 * for `navigator.gpu` (Node 20 has no navigator): a shim holding the device's GPU is installed.
 * The backend is registered with our device rather than tfjs's own factory, which would request
 * the `bgra8unorm-storage` feature in a form (an array) that Dawn rejects.
 */
export async function useTfWebGPU(tf: typeof import('@tensorflow/tfjs'), gpu: OpenedWebGPU): Promise<void> {
  const g = globalThis as unknown as {navigator?: {gpu?: unknown}};
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', {value: {gpu: {}}, configurable: true, writable: true});
  else if (!g.navigator.gpu) g.navigator.gpu = {};
  const mod = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {WebGPUBackend: new (device: GPUDevice, info: unknown) => unknown};
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new mod.WebGPUBackend(gpu.device, {vendor: gpu.adapter.vendor, architecture: gpu.adapter.architecture}) as never, 0);
  if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend(webgpu) returned false');
  await tf.ready();
}

/** The device tfjs's WebGPU backend runs on (null on other backends). */
export function webgpuDevice(): GPUDevice | null {
  return opened?.device ?? null;
}
