/** Nest injection token of the PrismaClient that the repositories share. */
export const PRISMA = Symbol('chorus:prisma');
