/** Types of the untyped `snowball-stemmers` package (a JS port of the Snowball stemmers). */
declare module "snowball-stemmers" {
  export interface Stemmer {
    /** The stem of one lower-case word. */
    stem(word: string): string;
  }
  interface SnowballFactory {
    /** A stemmer for an algorithm name such as "russian" or "english". */
    newStemmer(algorithm: string): Stemmer;
    algorithms(): string[];
  }
  const factory: SnowballFactory;
  export default factory;
}
