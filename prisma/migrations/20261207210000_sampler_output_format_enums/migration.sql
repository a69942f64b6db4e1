-- sampler and output_format hold only the wire names the API accepts; the enums make the database say so.
-- CreateEnum
CREATE TYPE "sampler" AS ENUM ('euler', 'dpmpp-2m', 'dpmpp-3m-sde', 'pingpong');

-- CreateEnum
CREATE TYPE "output_format" AS ENUM ('wav', 'flac', 'mp3');

-- AlterTable
ALTER TABLE "generations" ALTER COLUMN "sampler" SET DATA TYPE "sampler" USING ("sampler"::"sampler"),
    ALTER COLUMN "output_format" SET DATA TYPE "output_format" USING ("output_format"::"output_format");
