-- The Idempotency-Key interceptor (idempotency_keys) is the one mechanism; the column was never written.
-- DropIndex
DROP INDEX "generations_tenant_id_idempotency_key_key";

-- AlterTable
ALTER TABLE "generations" DROP COLUMN "idempotency_key";
