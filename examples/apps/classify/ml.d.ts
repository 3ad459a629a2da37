// Types for the part of ml-logistic-regression that examples/apps/classify uses (the package ships none).
declare module "ml-logistic-regression" {
  import type { Matrix } from "ml-matrix";
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    numberClasses: number;
    /** One two-class model per class, trained "this class" → 0, "any other" → 1. */
    classifiers: { weights: Matrix }[];
    train(x: Matrix, y: Matrix): void;
    predict(x: Matrix): number[];
  }
}
