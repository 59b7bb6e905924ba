/**
 * Month names as `ls -l` prints them in the locales FTP servers run in:
 * glibc's abbreviated months (`abmon`, what `%b` gives) and the full or
 * genitive forms some locales and servers use, lower-cased, without a
 * trailing dot. A server started under LANG=de_DE lists `Mär`, one under
 * fr_FR `mars` or `févr.`, one under ja_JP ` 3月`: each is read as the
 * month it names, and a name in none of these tables is not guessed at.
 */

/** Each language's names, January first; several spellings of one month are separated by `|`. */
const LANGUAGES: Record<string, readonly string[]> = {
  en: [
    "jan|january",
    "feb|february",
    "mar|march",
    "apr|april",
    "may",
    "jun|june",
    "jul|july",
    "aug|august",
    "sep|sept|september",
    "oct|october",
    "nov|november",
    "dec|december",
  ],
  de: [
    "jan|januar|jän|jänner",
    "feb|februar",
    "mär|märz|mrz|maer",
    "apr|april",
    "mai",
    "jun|juni",
    "jul|juli",
    "aug|august",
    "sep|sept|september",
    "okt|oktober",
    "nov|november",
    "dez|dezember",
  ],
  fr: [
    "janv|janvier",
    "févr|fév|février|fevr",
    "mars",
    "avr|avril",
    "mai",
    "juin",
    "juil|juillet",
    "août|aout",
    "sept|septembre",
    "oct|octobre",
    "nov|novembre",
    "déc|décembre|dec",
  ],
  es: [
    "ene|enero",
    "feb|febrero",
    "mar|marzo",
    "abr|abril",
    "may|mayo",
    "jun|junio",
    "jul|julio",
    "ago|agosto",
    "sep|sept|septiembre|set",
    "oct|octubre",
    "nov|noviembre",
    "dic|diciembre",
  ],
  it: [
    "gen|gennaio",
    "feb|febbraio",
    "mar|marzo",
    "apr|aprile",
    "mag|maggio",
    "giu|giugno",
    "lug|luglio",
    "ago|agosto",
    "set|settembre",
    "ott|ottobre",
    "nov|novembre",
    "dic|dicembre",
  ],
  nl: [
    "jan|januari",
    "feb|februari",
    "mrt|maart",
    "apr|april",
    "mei",
    "jun|juni",
    "jul|juli",
    "aug|augustus",
    "sep|sept|september",
    "okt|oktober",
    "nov|november",
    "dec|december",
  ],
  pt: [
    "jan|janeiro",
    "fev|fevereiro",
    "mar|março|marco",
    "abr|abril",
    "mai|maio",
    "jun|junho",
    "jul|julho",
    "ago|agosto",
    "set|setembro",
    "out|outubro",
    "nov|novembro",
    "dez|dezembro",
  ],
  sv: [
    "jan|januari",
    "feb|februari",
    "mar|mars",
    "apr|april",
    "maj",
    "jun|juni",
    "jul|juli",
    "aug|augusti",
    "sep|sept|september",
    "okt|oktober",
    "nov|november",
    "dec|december",
  ],
  da: [
    "jan|januar",
    "feb|februar",
    "mar|marts",
    "apr|april",
    "maj",
    "jun|juni",
    "jul|juli",
    "aug|august",
    "sep|sept|september",
    "okt|oktober",
    "nov|november",
    "dec|december",
  ],
  no: [
    "jan|januar",
    "feb|februar",
    "mar|mars",
    "apr|april",
    "mai",
    "jun|juni",
    "jul|juli",
    "aug|august",
    "sep|sept|september",
    "okt|oktober",
    "nov|november",
    "des|desember",
  ],
  fi: [
    "tammi|tammikuu",
    "helmi|helmikuu",
    "maalis|maaliskuu",
    "huhti|huhtikuu",
    "touko|toukokuu",
    "kesä|kesäkuu",
    "heinä|heinäkuu",
    "elo|elokuu",
    "syys|syyskuu",
    "loka|lokakuu",
    "marras|marraskuu",
    "joulu|joulukuu",
  ],
  pl: [
    "sty|stycznia|styczeń",
    "lut|lutego|luty",
    "mar|marca|marzec",
    "kwi|kwietnia|kwiecień",
    "maj|maja",
    "cze|czerwca|czerwiec",
    "lip|lipca|lipiec",
    "sie|sierpnia|sierpień",
    "wrz|września|wrzesień",
    "paź|października|październik",
    "lis|listopada|listopad",
    "gru|grudnia|grudzień",
  ],
  cs: [
    "led|leden|ledna",
    "úno|únor|února",
    "bře|březen|března",
    "dub|duben|dubna",
    "kvě|květen|května",
    "čvn|červen|června",
    "čvc|červenec|července",
    "srp|srpen|srpna",
    "zář|září",
    "říj|říjen|října",
    "lis|listopad|listopadu",
    "pro|prosinec|prosince",
  ],
  hu: [
    "jan|január",
    "febr|feb|február",
    "márc|már|március",
    "ápr|április",
    "máj|május",
    "jún|június",
    "júl|július",
    "aug|augusztus",
    "szept|szep|szeptember",
    "okt|október",
    "nov|november",
    "dec|december",
  ],
  tr: [
    "oca|ocak",
    "şub|şubat",
    "mar|mart",
    "nis|nisan",
    "may|mayıs",
    "haz|haziran",
    "tem|temmuz",
    "ağu|ağustos",
    "eyl|eylül",
    "eki|ekim",
    "kas|kasım",
    "ara|aralık",
  ],
  ru: [
    "янв|января|январь",
    "фев|февр|февраля|февраль",
    "мар|марта|март",
    "апр|апреля|апрель",
    "май|мая",
    "июн|июня|июнь",
    "июл|июля|июль",
    "авг|августа|август",
    "сен|сент|сентября|сентябрь",
    "окт|октября|октябрь",
    "ноя|нояб|ноября|ноябрь",
    "дек|декабря|декабрь",
  ],
  uk: [
    "січ|січня",
    "лют|лютого",
    "бер|березня",
    "кві|квітня",
    "тра|травня",
    "чер|червня",
    "лип|липня",
    "сер|серпня",
    "вер|вересня",
    "жов|жовтня",
    "лис|листопада",
    "гру|грудня",
  ],
  el: ["ιαν", "φεβ", "μαρ|μάρ", "απρ", "μαΐ|μαι|μάι", "ιουν|ιούν", "ιουλ|ιούλ", "αυγ|αύγ", "σεπ", "οκτ", "νοε|νοέ", "δεκ"],
};

const BY_NAME = new Map<string, number>();
for (const months of Object.values(LANGUAGES)) {
  months.forEach((spellings, month) => {
    for (const spelling of spellings.split("|")) BY_NAME.set(spelling.normalize("NFC"), month);
  });
}

/** A byte that did not decode, escaped as text-codec.ts does (U+DC80 + byte - 0x80). */
const ESCAPED_BYTE = /[\udc80-\udcff]/g;

/**
 * The month (0-11) a listing's month token names, or undefined when it is
 * none this table knows: `Nov`, `Mär`, `févr.`, `mrt`, `3月` (Japanese and
 * Chinese), `3월` (Korean). Bytes that did not decode are read as Latin-1
 * (ISO-8859-15 and windows-1252 agree on these letters): `ls` in a
 * de_DE.ISO-8859-1 or fr_FR.ISO-8859-1 locale prints `Mär`, `févr.`,
 * `août` and `déc.` so, and UTF-8 (the default encoding) leaves their
 * non-ASCII byte escaped.
 */
export function monthIndex(token: string): number | undefined {
  const cjk = /^(\d{1,2})\s?[月월]$/u.exec(token);
  if (cjk) {
    const month = Number(cjk[1]);
    return month >= 1 && month <= 12 ? month - 1 : undefined;
  }
  const text = token.replace(ESCAPED_BYTE, (escaped) => String.fromCharCode(escaped.charCodeAt(0) - 0xdc00));
  return BY_NAME.get(text.replace(/\.$/, "").normalize("NFC").toLowerCase());
}
