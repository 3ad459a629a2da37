// Types for the part of ml-isolation-forest that examples/apps/fraud uses (the package ships none).
declare module "ml-isolation-forest" {
  export class IsolationForest {
    constructor(options?: { nEstimators?: number });
    /** Builds the trees from every row (no subsampling); draws with Math.random. */
    train(rows: number[][]): void;
    /** Anomaly scores in (0, 1): near 1 isolated at once, about 0.5 or less ordinary. */
    predict(rows: number[][]): number[];
  }
}
