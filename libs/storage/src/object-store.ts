import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { retryWithBackoff } from '@chorus/contracts';

export interface ObjectStoreConfig {
  /** Omit for AWS S3; set for MinIO, s3rver and other S3-compatible stores. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Omit both to use the AWS SDK's default credential chain (instance roles, env, profile). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** bucket in the path (http://host/bucket/key), which MinIO and s3rver need. */
  forcePathStyle?: boolean;
  /** Lifetime of presigned GET URLs; default 15 minutes. */
  presignExpiresSeconds?: number;
  /** Objects above this size are uploaded in parts of this size; default 8 MiB. */
  multipartPartBytes?: number;
  /** Tries per upload before giving up, on 5xx and connection errors; default 4. */
  uploadAttempts?: number;
  /** First backoff between upload tries, doubled each time; default 250 ms. */
  uploadBackoffMs?: number;
}

export interface StoredObject {
  bytes: number;
  contentType?: string;
}

const DEFAULT_PRESIGN_SECONDS = 15 * 60;
const MIN_PART_BYTES = 5 * 1024 * 1024; // S3's smallest multipart part.

/** The content type of an audio format the farm writes. */
export const AUDIO_CONTENT_TYPES: Record<string, string> = {
  wav: 'audio/wav',
  flac: 'audio/flac',
  mp3: 'audio/mpeg',
};

/** Where a generation's audio lives: `generations/<tenant>/<id>.<ext>`. */
export function generationObjectKey(tenantId: string, generationId: string, extension: string): string {
  return `generations/${tenantId}/${generationId}.${extension}`;
}

/** One bucket of an S3-compatible store: uploads, existence checks and presigned downloads. */
export class ObjectStore {
  readonly bucket: string;
  readonly client: S3Client;
  private readonly presignExpiresSeconds: number;
  private readonly partBytes: number;
  private readonly uploadAttempts: number;
  private readonly uploadBackoffMs: number;

  constructor(config: ObjectStoreConfig) {
    this.bucket = config.bucket;
    this.presignExpiresSeconds = config.presignExpiresSeconds ?? DEFAULT_PRESIGN_SECONDS;
    this.partBytes = Math.max(MIN_PART_BYTES, config.multipartPartBytes ?? 8 * 1024 * 1024);
    this.uploadAttempts = Math.max(1, config.uploadAttempts ?? 4);
    this.uploadBackoffMs = config.uploadBackoffMs ?? 250;
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle ?? false,
      credentials:
        config.accessKeyId && config.secretAccessKey
          ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
          : undefined,
      // SDK v3 adds CRC32 checksums to every request by default; MinIO versions and other
      // S3-compatible servers that predate them reject or mangle such requests.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /**
   * Uploads a whole object (multipart above the part size) and resolves once the store has it.
   * Retries with exponential backoff on 5xx answers and connection errors.
   */
  async put(key: string, body: Buffer | Uint8Array, contentType?: string): Promise<StoredObject> {
    const upload = () =>
      new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
        partSize: this.partBytes,
        queueSize: 4,
        leavePartsOnError: false,
      }).done();
    await retryWithBackoff(upload, isRetryable, { attempts: this.uploadAttempts, firstDelayMs: this.uploadBackoffMs });
    return { bytes: body.byteLength, contentType };
  }

  /** The object's size and type, or null when there is no such object. */
  async head(key: string): Promise<StoredObject | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { bytes: head.ContentLength ?? 0, contentType: head.ContentType };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** The object's bytes (tests and tools; clients download through presigned URLs). */
  async getBytes(key: string): Promise<Buffer> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /**
   * A short-lived URL anyone can GET the object with. With `attachmentName`, the store answers
   * `Content-Disposition: attachment`, so a browser following the URL saves the file instead of playing it.
   */
  presignedGetUrl(key: string, options: { expiresSeconds?: number; attachmentName?: string } = {}): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: options.attachmentName ? contentDispositionAttachment(options.attachmentName) : undefined,
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresSeconds ?? this.presignExpiresSeconds });
  }

  /** Throws unless the bucket exists and these credentials reach it (readiness checks). */
  async checkBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** Creates the bucket when it does not exist (development and tests; production provisions it). */
  async ensureBucket(): Promise<void> {
    try {
      await this.checkBucket();
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.$metadata.httpStatusCode === 404 || error.name === 'NotFound' || error.name === 'NoSuchKey' || error.name === 'NoSuchBucket';
}

const RETRYABLE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH']);

function isRetryable(error: unknown): boolean {
  if (error instanceof S3ServiceException) return (error.$metadata.httpStatusCode ?? 0) >= 500;
  const { code, name } = error as { code?: string; name?: string };
  return (code !== undefined && RETRYABLE_NETWORK_CODES.has(code)) || name === 'TimeoutError';
}

/** `attachment; filename="…"` for a plain ASCII file name (generation ids and extensions are). */
function contentDispositionAttachment(fileName: string): string {
  if (!/^[\w.-]+$/.test(fileName)) throw new Error(`attachment names are letters, digits, '.', '_' and '-', got ${JSON.stringify(fileName)}`);
  return `attachment; filename="${fileName}"`;
}
