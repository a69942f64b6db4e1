import { Prisma } from './generated/client';

/** Prisma's codes for "cannot reach / lost the database" and "no connection from the pool in time". */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** @prisma/adapter-pg's kinds for socket failures. */
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** SQLSTATEs of a server going away or not accepting yet: 08 connection exceptions, 57P0x shutdown/starting up, 53300 too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-4]|53300)/;

/**
 * The database could not be reached or went away mid-query: a failure of the moment, worth a retry
 * (workers) or a 503 (API), never a verdict on the request.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_PRISMA_CODES.has(error.code)) return true;
    const cause = (error.meta?.driverAdapterError as { cause?: { kind?: string; originalCode?: string } } | undefined)?.cause;
    return UNAVAILABLE_ADAPTER_KINDS.has(cause?.kind ?? '') || UNAVAILABLE_SQLSTATE.test(cause?.originalCode ?? '');
  }
  // node-postgres' own words when the server drops a connection (no code attached).
  return error instanceof Error && /Connection terminated|connection timeout|terminating connection/i.test(error.message);
}

/** A unique constraint refused the write (Prisma's P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
