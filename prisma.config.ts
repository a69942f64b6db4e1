// Prisma CLI configuration (Prisma 7 reads the database URL here, not from schema.prisma).
// On these machines only `prisma generate` runs (npm run build:prisma); where Prisma's schema engine
// exists, `npx prisma migrate deploy` applies the same prisma/migrations as `npm run db:migrate`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/chorus' },
});
