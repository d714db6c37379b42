/**
 * Signed links for panels (keys under "signing."): the study's signing secret on the settings
 * page, how a panel signs, and the per-link "require signed parameters" switch. What the steps
 * say is what server/domain/pass-through.ts checks; change both together.
 */
export const en = {
  title: "Signed links for panels",
  intro:
    "A panel that pays or counts respondents by an id in the address (rid) signs it, so that nobody can change the id and be counted, or paid, as someone else. The panel signs with the secret below; the survey checks the signature before it shows or stores anything.",
  perLink:
    "Which parameters are signed is set for each link on the wave page (“Parameters that must be signed”). Tick “Require signed parameters” there for a panel’s link: it is then refused when opened without them.",
  secret: "Signing secret",
  secretHint: "Give it to the panel only, through a private channel. The key is this text itself: use its 43 characters as they are, do not decode them.",
  howTitle: "How a panel signs a link",
  step1:
    "Take the link’s signed parameters that the address carries (on a link that requires signing: all of them), with their plain values, as they are before being encoded for the address.",
  step2:
    "Sort them by name and join them as name=value pairs separated by &, each name and value percent-encoded in UTF-8 as JavaScript’s encodeURIComponent does (letters, digits and - _ . ! ~ * ' ( ) stay as they are, a space is %20). Other parameters and the signature itself are left out.",
  step3: "Compute HMAC-SHA256 of that string with the secret above as the key (its characters as bytes).",
  step4: "Encode the 32 bytes of the result as base64url without padding (43 characters, - and _ instead of + and /, no =) and add it to the address as {{param}}=…",
  refused:
    "The survey answers 403 and stores nothing when the signature does not match; when a signed parameter or the signature comes twice (?rid=a&rid=b); when a signed value is longer than {{max}} characters; and, on a link that requires signing, when a signed parameter or the signature is missing. On a link that does not require it, an address with none of its signed parameters is answered as usual.",
  exampleTitle: "Example with this study’s secret",
  exampleIntro: "A link that signs rid and panel, opened with rid=12345 and panel=7:",
  exampleParams: "Parameters",
  exampleCanonical: "String to sign",
  exampleSig: "Signature (sig)",
  exampleUrl: "Address",
  rotate: "Rotate the secret",
  rotateHint:
    "A new secret takes effect at once: every address signed with the current one is refused from then on. Give the panel the new secret first, or rotate before its respondents arrive.",
  rotated: "A new signing secret is in force. Give it to the panel: addresses signed with the old one are now refused.",
  linkHint: "A panel signs these with the study’s signing secret.",
  linkHintLink: "How to sign",
  require: "Require signed parameters",
  requireHint:
    "Refuse this link (403, nothing stored) unless every parameter above comes once, with a valid signature. Turn it on for a panel’s link; leave it off for a link that is also shared openly.",
  requireNeedsParams: "Name at least one parameter that must be signed, or untick “Require signed parameters”.",
  required: "Signed parameters required: {{names}}",
};

export const ru: typeof en = {
  title: "Подписанные ссылки для панелей",
  intro:
    "Панель, которая платит респондентам или считает их по идентификатору в адресе (rid), подписывает его, чтобы никто не мог подменить идентификатор и быть засчитанным — или получить оплату — за другого. Панель подписывает секретом ниже; опрос проверяет подпись, прежде чем что-либо показать или сохранить.",
  perLink:
    "Какие параметры подписываются, задаётся для каждой ссылки на странице волны («Параметры, которые должны быть подписаны»). Для ссылки панели отметьте там «Требовать подписанные параметры»: тогда без них ссылка не откроется.",
  secret: "Секрет для подписи",
  secretHint: "Передайте его только панели и только по закрытому каналу. Ключ — это сам текст: используйте его 43 символа как есть, не декодируйте их.",
  howTitle: "Как панель подписывает ссылку",
  step1:
    "Возьмите подписываемые параметры ссылки, которые есть в адресе (если ссылка требует подписи — все), с их исходными значениями — такими, какими они были до кодирования в адрес.",
  step2:
    "Отсортируйте их по имени и соедините парами имя=значение через &, закодировав каждое имя и значение в UTF-8 процентной кодировкой так, как это делает encodeURIComponent в JavaScript (латинские буквы, цифры и - _ . ! ~ * ' ( ) остаются как есть, пробел — %20). Остальные параметры и сама подпись не входят.",
  step3: "Вычислите HMAC-SHA256 от этой строки с секретом выше в качестве ключа (его символы как байты).",
  step4: "Закодируйте 32 байта результата в base64url без выравнивания (43 символа, - и _ вместо + и /, без =) и добавьте в адрес как {{param}}=…",
  refused:
    "Опрос отвечает 403 и ничего не сохраняет, если подпись не совпала; если подписываемый параметр или подпись пришли дважды (?rid=a&rid=b); если подписываемое значение длиннее {{max}} символов; а для ссылки, которая требует подписи, — ещё и если подписываемого параметра или подписи нет. Ссылка, которая подписи не требует, без подписываемых параметров открывается как обычно.",
  exampleTitle: "Пример с секретом этого исследования",
  exampleIntro: "Ссылка, которая подписывает rid и panel, открыта с rid=12345 и panel=7:",
  exampleParams: "Параметры",
  exampleCanonical: "Строка для подписи",
  exampleSig: "Подпись (sig)",
  exampleUrl: "Адрес",
  rotate: "Сменить секрет",
  rotateHint:
    "Новый секрет действует сразу: все адреса, подписанные текущим, с этого момента отклоняются. Сначала передайте панели новый секрет или меняйте его до того, как придут её респонденты.",
  rotated: "Действует новый секрет для подписи. Передайте его панели: адреса, подписанные старым, теперь отклоняются.",
  linkHint: "Панель подписывает их секретом исследования.",
  linkHintLink: "Как подписывать",
  require: "Требовать подписанные параметры",
  requireHint:
    "Отклонять эту ссылку (403, ничего не сохраняется), если каждый параметр выше не пришёл ровно один раз с верной подписью. Включайте для ссылки панели; не включайте для ссылки, которая публикуется и открыто.",
  requireNeedsParams: "Укажите хотя бы один параметр, который должен быть подписан, или снимите отметку «Требовать подписанные параметры».",
  required: "Нужны подписанные параметры: {{names}}",
};
