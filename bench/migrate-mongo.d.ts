/** The part of migrate-mongo's programmatic API the peer benchmark uses (the package ships no types). */
declare module 'migrate-mongo' {
  import type { Db, MongoClient } from 'mongodb';

  interface MigrateMongoConfig {
    mongodb: { url: string; databaseName?: string; options?: Record<string, unknown> };
    migrationsDir: string;
    changelogCollectionName: string;
    migrationFileExtension?: string;
    useFileHash?: boolean;
  }

  const migrateMongo: {
    config: { set(config: MigrateMongoConfig): void };
    /** Applies the pending migrations in order; returns their file names. */
    up(db: Db, client: MongoClient): Promise<string[]>;
  };
  export default migrateMongo;
}
