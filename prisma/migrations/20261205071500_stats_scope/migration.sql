-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "operator" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "generations_finished_at_idx" ON "generations"("finished_at");
