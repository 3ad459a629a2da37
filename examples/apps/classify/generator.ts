/**
 * The posts of examples/apps/classify.ts: a seeded, deterministic stream of
 * short social-media posts in four languages, each with its planted labels
 * (topic, sentiment sign, language), and a labelled training sample drawn
 * from another stream of the same seed.
 *
 * The model of a post:
 * - language: English 45%, Spanish 25%, French 15%, German 15%; the post's
 *   function words ("the", "and", "el", "und", …) come from that language;
 * - topic: sports, tech, politics, finance or food, with a popularity that
 *   swings over a 4-hour cycle (each topic peaks at another time); 2 to 4 words of
 *   the topic's vocabulary in the post's language, sometimes an
 *   international term or a hashtag ("nba", "#bitcoin"), and with
 *   probability 0.25 one word of another topic (the confusion a real
 *   classifier meets: "the bank sponsors the match");
 * - sentiment: positive 40%, neutral 30%, negative 30%; a positive or
 *   negative post has one or two words of its polarity, and in English one
 *   post in eight says it with a negated opposite ("not bad", "not good");
 *   2% are sarcastic (the words say the opposite of the label), a noise
 *   floor no lexicon can pass;
 * - time: Poisson arrivals, `postsPerSecond` on average, in event time from
 *   EPOCH_MS; ids count from 0.
 *
 * Same seed, same posts, on every runtime. The training sample is drawn from
 * `rnd.fork("training")`, the posts from `rnd.fork("posts")`: the classifier
 * never sees a held-out post.
 *
 * @module
 */
import { EPOCH_MS, Random } from "../lib/mod.ts";

export const LANGUAGES = ["en", "es", "fr", "de"] as const;
export type Language = typeof LANGUAGES[number];
export const TOPICS = ["sports", "tech", "politics", "finance", "food"] as const;
export type Topic = typeof TOPICS[number];
/** -1 negative, 0 neutral, 1 positive. */
export type Sign = -1 | 0 | 1;

/** What the generator planted: the answers the classifier is scored against. */
export interface PostLabel {
  topic: Topic;
  sentiment: Sign;
  lang: Language;
}

/** A post as it arrives. `label` is the planted truth, carried for scoring only: the classifier never reads it. */
export interface Post {
  id: number;
  /** Event time, epoch ms. */
  ts: number;
  user: string;
  text: string;
  label?: PostLabel;
}

const LANGUAGE_SHARE = [0.45, 0.25, 0.15, 0.15];

const FILLERS: Record<Language, string[]> = {
  en:
    "the a and is this that with for of to in on it we they was have just about today what my our at from so all there"
      .split(" "),
  es:
    "el la los las y es este esta que con para de en un una hoy muy pero nuestro todo hay fue sobre por lo del como más"
      .split(" "),
  fr:
    "le la les et est ce cette que avec pour de des en un une très mais notre tout il sur par du comme plus nous sont aussi"
      .split(" "),
  de:
    "der die das und ist ein eine mit für von zu im auf heute sehr aber unser alles es wir sind war über auch noch wie den"
      .split(" "),
};

const TOPIC_WORDS: Record<Topic, Record<Language | "intl", string[]>> = {
  sports: {
    en: "match goal team coach league season player stadium fans referee striker tournament final transfer".split(" "),
    es:
      "partido gol equipo entrenador liga temporada jugador estadio aficionados árbitro delantero torneo final fichaje"
        .split(" "),
    fr: "match but équipe entraîneur championnat saison joueur stade supporters arbitre attaquant tournoi finale"
      .split(" "),
    de: "spiel tor mannschaft trainer liga saison spieler stadion fans schiedsrichter stürmer turnier finale".split(
      " ",
    ),
    intl: "nba fifa messi olympics uefa nfl".split(" "),
  },
  tech: {
    en: "software phone app update chip cloud startup developer code laptop battery data network robot".split(" "),
    es: "software teléfono aplicación actualización chip nube programador código portátil batería datos red robot"
      .split(" "),
    fr: "logiciel téléphone application puce nuage développeur code ordinateur batterie données réseau robot".split(
      " ",
    ),
    de: "software handy app update chip cloud entwickler code laptop akku daten netzwerk roboter".split(" "),
    intl: "iphone android ai linux google openai".split(" "),
  },
  politics: {
    en: "election vote senate minister parliament president campaign policy law party candidate government debate"
      .split(" "),
    es: "elecciones voto senado ministro parlamento presidente campaña política ley partido candidato gobierno debate"
      .split(" "),
    fr: "élection vote sénat ministre parlement président campagne politique loi parti candidat gouvernement débat"
      .split(" "),
    de: "wahl stimme senat minister parlament präsident wahlkampf politik gesetz partei kandidat regierung debatte"
      .split(" "),
    intl: "un nato eu g7 brexit".split(" "),
  },
  finance: {
    en: "market stocks shares bank inflation rates investors earnings bonds dollar economy fund trading".split(" "),
    es: "mercado acciones bolsa banco inflación tipos inversores beneficios bonos dólar economía fondo".split(" "),
    fr: "marché actions bourse banque inflation taux investisseurs bénéfices obligations dollar économie fonds"
      .split(" "),
    de: "markt aktien börse bank inflation zinsen anleger gewinne anleihen dollar wirtschaft fonds".split(" "),
    intl: "bitcoin nasdaq ecb fed ipo etf".split(" "),
  },
  food: {
    en: "recipe dinner restaurant chef kitchen pasta cheese bread soup dessert menu wine coffee breakfast".split(" "),
    es: "receta cena restaurante cocinero cocina pasta queso pan sopa postre menú vino café desayuno".split(" "),
    fr: "recette dîner restaurant chef cuisine pâtes fromage pain soupe dessert menu vin café".split(" "),
    de: "rezept abendessen restaurant koch küche nudeln käse brot suppe nachtisch speisekarte wein kaffee frühstück"
      .split(" "),
    intl: "pizza sushi vegan ramen tapas".split(" "),
  },
};

/** The sentiment words the generator writes; examples/apps/classify/model.ts scores them with `sentiment`. */
export const SENTIMENT_WORDS: Record<Language, { positive: string[]; negative: string[] }> = {
  en: {
    positive: "good great love amazing awesome happy excellent wonderful brilliant fantastic best nice".split(" "),
    negative: "bad terrible awful hate horrible worst sad disappointing angry poor disaster boring".split(" "),
  },
  es: {
    positive: "bueno genial encanta increíble excelente feliz maravilloso fantástico mejor".split(" "),
    negative: "malo terrible horrible odio peor triste decepcionante desastre aburrido".split(" "),
  },
  fr: {
    positive: "bon super adore génial excellent heureux magnifique fantastique meilleur".split(" "),
    negative: "mauvais terrible horrible déteste pire triste décevant catastrophe ennuyeux".split(" "),
  },
  de: {
    positive: "gut toll liebe super hervorragend glücklich wunderbar fantastisch beste".split(" "),
    negative: "schlecht schrecklich furchtbar hasse schlimmste traurig enttäuschend katastrophe langweilig".split(" "),
  },
};

export interface PostOptions {
  seed: number;
  /** How many posts (default: unbounded, or until `durationMs`). */
  events?: number;
  /** How much event time (ms) from EPOCH_MS. */
  durationMs?: number;
  /** Mean posts per second of event time (default 200). */
  postsPerSecond?: number;
}

/** Topic weights at event time `t`: each topic peaks at another hour of a 4-hour cycle. */
function topicWeights(t: number): number[] {
  const phase = ((t - EPOCH_MS) / 3_600_000) * (Math.PI / 2);
  return TOPICS.map((_, i) => 1 + 0.6 * Math.sin(phase + (i * 2 * Math.PI) / TOPICS.length));
}

/** One post's text and labels, drawn from `rnd`, at event time `t`. */
function draw(rnd: Random, t: number): { text: string; label: PostLabel } {
  const lang = rnd.weighted(LANGUAGES, LANGUAGE_SHARE);
  const topic = rnd.weighted(TOPICS, topicWeights(t));
  const sentiment: Sign = rnd.weighted([1, 0, -1] as const, [0.4, 0.3, 0.3]);
  const words: string[] = [];
  const fillers = FILLERS[lang];
  const nFillers = 5 + rnd.int(5);
  for (let i = 0; i < nFillers; i++) words.push(rnd.pick(fillers));
  const vocab = TOPIC_WORDS[topic];
  const nTopic = 2 + rnd.int(3);
  for (let i = 0; i < nTopic; i++) words.push(rnd.chance(0.15) ? rnd.pick(vocab.intl) : rnd.pick(vocab[lang]));
  if (rnd.chance(0.25)) {
    const other = TOPICS[(TOPICS.indexOf(topic) + 1 + rnd.int(TOPICS.length - 1)) % TOPICS.length]!;
    words.push(rnd.pick(TOPIC_WORDS[other][lang]));
  }
  if (sentiment !== 0) {
    const sarcastic = rnd.chance(0.02);
    const said = sarcastic ? -sentiment : sentiment;
    const lexicon = SENTIMENT_WORDS[lang];
    const own = said > 0 ? lexicon.positive : lexicon.negative;
    const opposite = said > 0 ? lexicon.negative : lexicon.positive;
    const nWords = 1 + rnd.int(2);
    for (let i = 0; i < nWords; i++) {
      words.push(lang === "en" && rnd.chance(0.125) ? `not ${rnd.pick(opposite)}` : rnd.pick(own));
    }
  }
  rnd.shuffle(words);
  if (rnd.chance(0.2)) words.push(`#${rnd.pick(vocab.intl)}`);
  return { text: words.join(" "), label: { topic, sentiment, lang } };
}

/**
 * The posts of one seed, in event-time order (a generator: iterate it again
 * for the same posts).
 *
 * @example
 * ```ts
 * const first = generatePosts({ seed: 1, events: 3 });
 * for (const p of first) console.log(p.ts, p.text, p.label);
 * ```
 */
export function* generatePosts(opts: PostOptions): Generator<Post> {
  const rnd = new Random(opts.seed).fork("posts");
  const rate = (opts.postsPerSecond ?? 200) / 1000;
  const end = opts.durationMs === undefined ? Infinity : EPOCH_MS + opts.durationMs;
  const max = opts.events ?? Infinity;
  let t = EPOCH_MS;
  for (let id = 0; id < max; id++) {
    t += rnd.exponential(rate);
    if (t >= end) return;
    const ts = Math.floor(t);
    const { text, label } = draw(rnd, ts);
    yield { id, ts, user: `u${rnd.int(50_000)}`, text, label };
  }
}

/** `n` labelled posts for training, from another stream of the same seed, spread over a day of event time. */
export function trainingSample(seed: number, n: number): { text: string; label: PostLabel }[] {
  const rnd = new Random(seed).fork("training");
  return Array.from({ length: n }, () => draw(rnd, EPOCH_MS + rnd.int(86_400_000)));
}
