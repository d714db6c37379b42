/**
 * Small stop-word lists for feedback themes and the coding review queue: function words,
 * pronouns, auxiliaries and fillers that say nothing about a product, including the wish words
 * of a "what would you change" answer ("хочу", "добавьте", "please"), which would otherwise start
 * half the phrases. Negations ("не", "no", "not") are listed too; themes glue them to the next
 * word first (themes.ts), so "не нравится" stays apart from "нравится". Words are lower case
 * with ё written as е.
 */

export const RUSSIAN_STOP_WORDS: ReadonlySet<string> = new Set(
  `а без более больше будет будто бы был была были было быть в вам вас весь во вот все всего всех вы
  где да даже для до его ее ей ему если есть еще же за здесь и из или им их к как какая какой когда
  кто ли либо мне много может можно мой моя мы на над надо наш не него нее нет ни них но ну о об
  однако он она они оно от очень по под после потом потому почему при про раз с сам свой себе себя
  со так также такой там тем то тогда того тоже только том ту тут ты у уж уже хотя чего чей чем что
  чтобы чуть эта эти это этого этой этом этот я бы ведь вообще вроде именно какие какое когда-то
  кроме лишь между нам нами ним ними нибудь ничего нужно оба около пока разве сейчас сказать совсем
  стал стало сюда та те тех тобой тебе тебя того тоже туда хоть через чтоб эту
  хочу хотел хотела хотелось хотим хотят хотели пожалуйста сделайте добавьте пусть теперь особенно
  ваш ваша ваше ваши вашего вашей вашем вашу ваших`.split(/\s+/),
);

export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(
  `a about above after again against all am an and any are as at be because been before being below
  between both but by can could did do does doing down during each few for from further had has have
  having he her here hers herself him himself his how i if in into is it its itself just me more most
  my myself no nor not now of off on once only or other our ours ourselves out over own same she
  should so some such than that the their theirs them themselves then there these they this those
  through to too under until up very was we were what when where which while who whom why will with
  would you your yours yourself yourselves also really get got dont don t s im ive
  maybe much many make made one thing things lot
  please want wish like add yet bit`.split(/\s+/),
);

export function isStopWord(word: string): boolean {
  return RUSSIAN_STOP_WORDS.has(word) || ENGLISH_STOP_WORDS.has(word);
}
