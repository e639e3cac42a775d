package mailreply

import (
	"regexp"
	"strings"
)

// The lexicon works on normalised text (lower case, accents folded, "sí"
// written "sy"; see normalize). Every positive phrase is a first-person
// commitment or a request to be listed; bare mentions of the verbs ("your
// request to endorse") are not. Negations are not spelled out phrase by
// phrase: any negator before an endorsement verb in the same clause turns
// it into a refusal (see negation).

// phrase is one positive pattern.
type phrase struct {
	lang string
	re   *lexRe
	// object: the verb is generic ("support", "apoyamos") and counts only
	// when the sentence ends after it or a word about the letter, the
	// campaign or "this" follows within five words.
	object bool
	// third: a third-person form ("X endorses the letter"); its subject is
	// not checked, so it never makes a result Sure.
	third bool
}

func p(lang string, object bool, re string) phrase {
	return phrase{lang: lang, object: object, re: mustLex(re)}
}

func third(lang, re string) phrase {
	return phrase{lang: lang, object: true, third: true, re: mustLex(re)}
}

const (
	enSubject = `\b(?:we|i|we'd|we'll|we're|we've|i'm|i'd|i'll|our (?:whole |entire |executive )?(?:organi[sz]ation|association|network|coalition|foundation|centre|center|group|board|institute|union|team|ngo|platform|movement|federation|council|society|committee|alliance|collective|office|institution|members|membership|secretariat|forum|trust|league|chapter|clinic|project|assembly))`
	enFiller  = `(?:[\s,]+(?:would|will|shall|do|does|hereby|fully|gladly|happily|strongly|also|both|all|certainly|definitely|very|much|officially|formally|wholeheartedly|are|am|is|be|happy|glad|pleased|delighted|honou?red|proud|keen|willing|eager|ready|like|love|want|wish|to|going|can|confirm|confirms|agree|agrees|agreed|decided|decide|have|has|totally|absolutely|indeed|now|therefore|thus|hence|enthusiastically|unanimously|gratefully|respectfully|collectively|too|similarly|equally|jointly|most|more|than|really|course|of|as|well|once|again|would|'d|'ll))*[\s,]+`
	enVerb    = `(?:endorse|endorses|co-?signs?|cosigns?|subscribes? to|adheres? to|add (?:our|my) (?:organi[sz]ation'?s? )?(?:name|signature|voice|logo|organi[sz]ation|endorsement)|lend (?:our|my) (?:name|support|voice|signature)|be (?:a |an |among the |one of the |listed as |counted as |counted among the |included (?:as|among) (?:the )?)?(?:co-?)?(?:signator(?:y|ies)|endorsers?|supporters?|signers?)|be (?:counted|listed|included|named|added|on board)|be part of (?:this|it|the (?:letter|campaign|initiative|call|appeal|statement|coalition|effort)))`
	enGeneric = `(?:supports?|joins?|signs?|sign on(?:to)?|signs? on|sign up|signing on)`

	esModal = `\b(?:queremos|deseamos|quisieramos|nos gustaria|nos encantaria|podemos|vamos a|aceptamos|acordamos|decidimos|hemos decidido|estamos (?:muy )?(?:felices|contentos|contentas|encantados|encantadas|dispuestos|dispuestas|de acuerdo|honrados|honradas|orgullosos|orgullosas)(?: de| en)?|sera un (?:placer|honor|gusto)|es un (?:placer|honor|gusto)|con (?:mucho )?gusto|encantados de|encantadas de)(?: \S+){0,2}? `
	esVerb  = `(?:firmar|firmarla|firmarlo|respaldar|respaldarla|sumarnos|adherirnos|unirnos|suscribir|suscribirla|endosar|avalar|formar parte|ser (?:parte|firmantes|signatarios|adherentes))\b`

	frModal = `\bnous (?:(?:sommes|serons|serions) (?:tres |vraiment |tout a fait )?(?:heureux|heureuses|ravis|ravies|fiers|fieres|honores|honorees|prets|pretes|d'accord|disposes|disposees|enchantes|enchantees|contents|contentes)|voulons|souhaitons|acceptons|allons|pouvons|tenons|decidons|avons decide|aimerions|voudrions|souhaiterions)(?: \S+){0,3}? `
	frVerb  = `(?:signer|cosigner|endosser|adherer|souscrire|nous joindre|nous associer|faire partie|etre (?:parmi les )?(?:signataires?|cosignataires?)|figurer|apporter notre (?:plein |entier |total )?(?:soutien|signature|appui|adhesion))\b`

	ptModal = `\b(?:queremos|desejamos|gostariamos de|podemos|vamos|aceitamos|decidimos|estamos (?:muito )?(?:felizes|contentes|dispostos|dispostas|de acordo|honrados|honradas|orgulhosos|orgulhosas)(?: em| de| para)?|sera um (?:prazer|honra)|e um (?:prazer|honra)|com (?:muito )?prazer|temos (?:o )?prazer (?:de|em)|temos (?:a )?honra de)(?: \S+){0,2}? `
	ptVerb  = `(?:assinar|assina-la|subscrever|endossar|aderir|nos juntar|juntar-nos|nos unir|unir-nos|fazer parte|ser (?:signatarios|signatarias|parte))\b`
)

var positives = []phrase{
	// English.
	p("en", false, enSubject+enFiller+enVerb+`\b`),
	p("en", true, enSubject+enFiller+enGeneric+`\b`),
	third("en", `\b(?:endorses|supports|signs on to|joins)\b`),
	p("en", false, `\b(?:happy|glad|pleased|delighted|honou?red|proud|willing|keen|eager|thrilled)\s+to\s+(?:endorse|co-?sign|cosign|add our (?:name|signature|organi[sz]ation))\b`),
	p("en", true, `\b(?:happy|glad|pleased|delighted|honou?red|proud|willing|keen|eager|thrilled)\s+to\s+(?:sign|support|join)\b`),
	p("en", false, `\bcount (?:us|me) in\b`),
	p("en", false, `\bour name (?:can |may |should )?(?:appear|be (?:added|listed|included|printed)) (?:on|in|to) the letter\b`),
	p("en", false, `\bsign (?:us|me) (?:up|on)\b`),
	p("en", false, `\b(?:we are|we're|count us|we are all|we're all) (?:fully |all |definitely )?on board\b`),
	p("en", false, `(?:^|,\s*|\bso\s+|^yes\s+)(?:we are|we're|count us|we are all|we're all) (?:definitely |totally |absolutely |so |all )?in$`),
	p("en", false, `\b(?:please )?(?:add|include|list) [^.;]{1,60} as (?:a |an |one of the )?(?:co-?)?(?:signator(?:y|ies)|endorsers?|supporters?|signers?)\b`),
	third("en", `\bha(?:s|ve) (?:decided|agreed|voted|resolved|chosen) to (?:endorse|sign|co-?sign|support|join)\b`),
	p("en", false, `\b(?:please )?sign (?:it |us )?as\b`),
	p("en", false, `\b(?:please )?(?:add|include|list) (?:us|our (?:name|organi[sz]ation|association|network|signature|logo|group|ngo|foundation|coalition|support))\b|\bput (?:us|our name) down\b`),
	p("en", false, `\b(?:you have|you can count on|here is|here's|we give|we confirm|i confirm|we offer|we extend|please accept|please record|please register|please note|we send|we express|we reaffirm|we reiterate|we pledge|we lend) (?:our|my) (?:full |strong |wholehearted |unconditional |organi[sz]ation'?s? |institutional )?(?:endorsement|support|signature|sign-?on)\b`),
	p("en", false, `\b(?:i|we) (?:hereby |happily |gladly )?confirm (?:that )?(?:our|we|the) [^.;]{0,60}\b(?:endorses?|endorsement|signs?|signature)\b`),

	// Spanish.
	p("es", false, `\b(?:nos sumamos|nos adherimos|adherimos|nos unimos|respaldamos|firmamos|suscribimos|endosamos|avalamos|refrendamos)\b`),
	p("es", true, `\b(?:apoyamos)\b`),
	p("es", false, esModal+esVerb),
	p("es", true, esModal+`(?:apoyar|apoyarla)\b`),
	p("es", false, `\b(?:cuenten|pueden contar|puede contar|cuente) con (?:nosotros|nosotras|nuestr[oa] (?:firma|adhesion|apoyo|respaldo|aval))\b`),
	p("es", false, `\b(?:confirmamos|damos|expresamos|manifestamos|reiteramos|ratificamos|enviamos|hacemos llegar) (?:nuestr[oa] )?(?:total |pleno |plena |firme |decidido |decidida )?(?:adhesion|apoyo|respaldo|firma|aval)\b`),
	p("es", false, `\b(?:pueden |puede )?(?:firmar|firmen) (?:como|en nombre de|a nombre de)\b`),
	p("es", false, `\bnuestro nombre (?:puede |pueda )?(?:figurar|aparecer|figure|aparezca) en la carta\b`),
	p("es", false, `\b(?:incluyannos|agreguennos|anadannos|sumennos|pongannos|anotennos|incluirnos|agregarnos)\b`),
	p("es", false, `\b(?:incluyan|agreguen|anadan|sumen|pongan|anoten|incluir|agregar) (?:a )?(?:nuestra organizacion|nuestro nombre|nuestra firma|nuestra institucion|nuestra asociacion|nuestro colectivo|nuestra red|nuestra fundacion)\b`),
	third("es", `\b(?:se suma|se adhiere|se une|respalda|suscribe|apoya|avala|endosa)\b`),

	// French.
	p("fr", false, `\bnous (?:(?:aussi|egalement|donc|bien|tous|toutes|volontiers|pleinement|entierement|totalement|tout a fait) )?(?:signons|cosignons|co-signons|endossons|adherons|souscrivons|nous joignons|nous associons|nous rallions)\b`),
	p("fr", true, `\bnous (?:(?:aussi|egalement|donc|bien|tous|toutes|volontiers|pleinement|entierement|totalement|tout a fait) )?(?:soutenons|appuyons|approuvons|rejoignons)\b`),
	p("fr", false, `\bje (?:signe|soutiens|confirme notre (?:soutien|signature|adhesion))\b`),
	p("fr", false, frModal+frVerb),
	p("fr", true, frModal+`(?:soutenir|appuyer|approuver|rejoindre)\b`),
	p("fr", false, `\b(?:vous pouvez compter sur nous|comptez sur nous|vous pouvez compter sur notre (?:soutien|signature|appui))\b`),
	p("fr", false, `\b(?:merci de |veuillez )nous (?:inscrire|ajouter|inclure|compter)\b|\binscri(?:re|vez)[- ]nous\b|\bd'accord pour (?:signer|soutenir|appuyer|cosigner|endosser)\b`),
	p("fr", false, `\b(?:notre nom|le nom de notre (?:organisation|association|collectif|reseau)) (?:peut |puisse )?(?:figure|figurer|apparaisse|apparaitre) (?:sur|dans) la lettre\b`),
	p("fr", false, `\bvous avez notre (?:plein |entier |total )?(?:soutien|signature|appui|adhesion)\b`),
	p("fr", false, `\b(?:confirmons|apportons|exprimons|donnons|reaffirmons|renouvelons|envoyons) (?:notre|toute notre) (?:plein |entier |total |ferme )?(?:soutien|signature|appui|adhesion)\b`),
	p("fr", false, `\b(?:ajoutez|inscrivez|incluez|mettez|ajouter|inscrire|inclure)[- ](?:nous|notre (?:organisation|nom|association|signature|collectif|reseau))\b`),
	third("fr", `\b(?:soutient|signe|approuve|adhere a|s'associe a|se joint a|appuie|cosigne|endosse|se rallie a)\b`),

	// Portuguese.
	p("pt", false, `\b(?:nos )?(?:subscrevemos|assinamos|endossamos|aderimos|cossignamos|co-assinamos)\b`),
	p("pt", false, `\b(?:nos juntamos|juntamo-nos|nos unimos|unimo-nos|nos somamos|somamo-nos|nos associamos|associamo-nos)\b`),
	p("pt", true, `\b(?:nos )?apoiamos\b`),
	p("pt", false, ptModal+ptVerb),
	p("pt", true, ptModal+`(?:apoiar|apoia-la)\b`),
	p("pt", false, `\b(?:podem|pode|podemos) contar (?:conosco|connosco|com (?:a )?nossa (?:assinatura|adesao)|com (?:o )?nosso (?:apoio|endosso))\b`),
	p("pt", false, `\bcontem (?:conosco|connosco|com (?:o )?nosso (?:apoio|endosso)|com (?:a )?nossa (?:assinatura|adesao))\b`),
	p("pt", false, `\b(?:confirmamos|manifestamos|expressamos|damos|reiteramos|reafirmamos|enviamos|registramos|registamos) (?:o |a )?(?:nosso|nossa) (?:total |pleno |plena |integral |firme )?(?:apoio|adesao|assinatura|endosso)\b`),
	p("pt", false, `\b(?:podem |pode )?(?:assinar|assinem) (?:como|em nome d[aeo])\b`),
	p("pt", false, `\bnosso nome (?:pode |possa )?(?:constar|aparecer|conste|apareca) (?:na|da) carta\b`),
	p("pt", false, `\b(?:incluam-nos|adicionem-nos|coloquem-nos|incluir-nos|adicionar-nos)\b`),
	p("pt", false, `\b(?:incluam|adicionem|coloquem|incluir|adicionar) (?:a |o )?(?:nossa organizacao|nosso nome|nossa assinatura|nossa entidade|nossa associacao|nossa rede)\b`),
	third("pt", `\b(?:apoia|assina|subscreve|endossa|adere a|junta-se a|se junta a|une-se a|se une a)\b`),
}

// objectWords may follow a generic verb: the letter, the campaign, "this".
// Supporting "the ratification" or "the cause" is not signing the letter.
var objectWords = setOf(`letter letters call appeal campaign initiative statement declaration petition text document
sign-on signon it this that these
carta llamado llamamiento campana iniciativa declaracion peticion pronunciamiento comunicado texto documento
convocatoria esta este esto esa ese eso ello
lettre appel campagne initiative petition texte document cette ce cela ceci ca
apelo chamado chamamento campanha declaracao peticao isto essa esse isso`)

// adverbs may stand between a generic verb and its object.
var adverbs = setOf(`fully wholeheartedly wholly completely entirely enthusiastically strongly unreservedly 100 gladly
plenamente totalmente completamente pleinement entierement totalement integralmente inteiramente the la el le l'
a o les los las os as de del du da do joint conjunta commune`)

// signExtras may follow "sign": "sign on", "sign up", "sign as", "sign on behalf".
var signExtras = setOf(`on up onto as behalf`)

// Words that make a positive phrase about something else (a newsletter, a
// meeting) rather than the letter.
var offTopicRe = mustLex(`\b(?:newsletters?|mailing list|distribution list|e-?mail list|webinars?|events?|meetings?|bulletins?|boletin|boletines|lista de (?:correo|distribucion|difusion|e-?mails?)|webinarios?|eventos?|reunion|reuniones|lettre d'information|infolettre|liste de diffusion|webinaires?|reunions?|boletim|reuniao|reunioes|conference|conferencia|workshop|taller|atelier|oficina|future|futures|futuras?|futuros?|communications|mailings|updates)\b`)

// negators turn a following endorsement verb into a refusal.
var negators = setOf(`not no never cannot unable neither nor none nobody nothing refuse refuses decline against
nunca jamas tampoco ni imposible rechazamos declinamos nadie nada
ne pas jamais aucun aucune impossible refusons declinons personne rien
nao nem nenhum nenhuma impossivel recusamos ninguem`)

// temporalWords make an endorsement wait for something: "after", "once",
// "when", "until". Neutral phrases ("once again", "after consulting our
// members") are blanked before they are looked for.
var temporalWords = setOf(`after once when whenever until till despues cuando apres quand lorsque lorsqu depois quando`)

// modalWords make an endorsement hypothetical.
var modalWords = setOf(`would could might hope hopefully hoping podria podriamos pourrait pourrions poderia poderiamos`)

// politeConditionals are conditionals that mean "we would like to".
var politeConditionals = setOf(`gostariamos aimerions voudrions souhaiterions`)

// politeWords after a modal make it a polite yes: "we would like to",
// "we'd be honoured to", "estaríamos encantados de", "nous serions ravis de".
var politeWords = setOf(`like love happy glad pleased delighted honoured honored proud thrilled keen privilege pleasure
encantados encantadas felices contentos contentas honrados honradas orgullosos orgullosas gusto placer honor
heureux heureuses ravis ravies honores honorees fiers fieres enchantes enchantees contents contentes
felizes contentes orgulhosos orgulhosas prazer honra`)

// insteadRe offers something else than what was asked.
var insteadRe = mustLex(`\b(?:instead|rather than|en lugar|en vez|au lieu|a la place|em vez|em lugar|ao inves)\b`)

// postNegators follow the verb in informal French ("nous signons pas").
var postNegators = setOf(`pas jamais point nullement`)

// reservationRe marks a positive answer that is hedged by a contrast or
// limited in scope: "we would love to endorse but...", "personally",
// "already signed".
var reservationRe = mustLex(`\b(?:but|however|although|though|unfortunately|regrettably|except|personally|in (?:my|a) personal capacity|not on behalf|in spirit|already|previous|last year|` +
	`pero|sin embargo|aunque|lamentablemente|desafortunadamente|excepto|salvo|a titulo personal|personalmente|ya (?:firmamos|respaldamos|nos sumamos|adherimos|lo hicimos)|anterior|el ano pasado|` +
	`mais|cependant|toutefois|neanmoins|pourtant|malheureusement|sauf|a titre personnel|personnellement|deja|precedente|l'an dernier|l'annee derniere|` +
	`porem|contudo|entretanto|no entanto|todavia|infelizmente|exceto|a titulo pessoal|pessoalmente|ja (?:assinamos|apoiamos|subscrevemos|aderimos)|o ano passado|no ano passado)\b`)

// possessive words before a third-person verb make it first person:
// "nuestra organización respalda", "notre association soutient".
var ownWords = setOf(`our nuestra nuestro notre nossa nosso`)

// clauseStarts begin a new clause after a comma, ending a negation's reach.
var clauseStarts = setOf(`we i our nous je nosotros nosotras nos nós`)

// contrasts end a negation's reach.
var contrasts = setOf(`but however although though pero aunque sin embargo mais cependant toutefois pourtant mas porem contudo entretanto`)

// verbRe finds endorsement verbs and nouns, to test them for negation.
var verbRe = mustLex(`\b(?:endors\w*|take part|taking part|co-?sign\w*|cosign\w*|sign|signs|signing|signature|support|supports|supporting|join|joining|adhere|be part|be included|be listed|add our|add us|count us in|on board|respald\w*|firm(?:ar|amos|aremos|ariamos|emos|arla|arlo|a)|suscrib\w*|sum(?:arnos|amos|aremos|ariamos|emos)|unirnos|adherir\w*|adherimos|apoy(?:ar|amos|aremos|ariamos|o|arla)|avalar|avalamos|endos\w*|adhesion|formar parte|sign(?:er|ons|erons|erions|ataire|ataires)|cosign\w*|souten\w*|soutien|appui|appuy\w*|approuv\w*|rejoindre|joindre|associer|adherer|adherons|assin\w*|subscrev\w*|ader(?:ir|imos|iremos|iriamos)|adesao|apoi(?:ar|amos|aremos|ariamos|o|a-la)|endoss\w*|juntar|juntamos|fazer parte)\b`)

// neutral phrases contain a negator or a condition word but mean neither.
var neutralRe = mustLex(words(
	`not only|no solo|no solamente|non seulement|nao so|nao apenas|but (?:\w+ ){0,2}also|sino (?:\w+ )?tambien|mais (?:\w+ )?aussi|mas (?:\w+ )?tambem|once again|una vez mas|encore une fois|mais uma vez`,
	`(?:do not|don't|doesn't|does not) see (?:any|a) (?:problem|issue|reason|objection)|no reason (?:not to|why not)|nothing against|not against`,
	`no (?:tenemos|vemos) (?:ningun |ninguna )?(?:problema|inconveniente|objecion)|nous ne voyons pas d'inconvenient|pas d'objection|pas d'inconvenient|nao (?:vemos|temos) (?:nenhum |nenhuma )?(?:problema|objecao|inconveniente)`,
	`(?:after|despues de|apres|depois de|apos) (?:discussing|consulting|reviewing|considering|consultar\w*|discutir\w*|analizar\w*|evaluar\w*|revisar\w*|avaliar|analisar|discussion|consultation|examen|avoir (?:consulte|discute|examine)|consulta|discussao|analise)`,
	`ne pouvons que|ne peut que|ne pouvons qu'|aucune objection|aucun inconvenient|sans objection|ninguna objecion|sin objecion|no hay inconveniente|nenhuma objecao|sem objecao|nao ha problema|couldn't agree more|could not agree more`,
	`no doubt|no problem|no problems|no hesitation|without hesitation|no question|no objection|no objections|can't wait|cannot wait|can not wait|couldn't be happier|could not be happier|don't hesitate|do not hesitate|why not|no worries|no dudamos|sin duda|no hay problema|sin problema|ningun problema|por que no|n'hesitez pas|n'hesitons pas|sans hesiter|sans doute|pas de probleme|aucun probleme|pourquoi pas|nao hesitamos|nao hesitem|sem duvida|sem problema|nenhum problema|por que nao|porque nao`,
	`if you need\w*|if needed|if necessary|if you have (?:any )?(?:further |other |more )?(?:questions?|queries|doubts|comments)|if there (?:is|are) anything|if possible|if any|if required|if you require|if helpful|if useful|if you want|if you wish|if you would like|if you'd like|if so|if anything else|let (?:us|me) know if`,
	`si (?:lo |los |las )?necesita\w*|si es necesario|si hace falta|si (?:tienen|tiene|tienes) (?:alguna |cualquier )?(?:pregunta|duda|consulta)\w*|si hay algo|si es posible|si gustan`,
	`s'il vous plait|s'il te plait|s'il vous plaît|si besoin|si necessaire|si vous avez (?:besoin|des questions)|si possible`,
	`se precisar\w*|se necessario|caso precisem|caso necessario|caso (?:tenham|tenha) (?:alguma )?(?:duvida|pergunta)\w*|se (?:tiverem|tiver) (?:alguma )?(?:duvida|pergunta)\w*|se possivel`,
)...)

// temporalRe finds "when"-like conditions; they count only in a sentence
// that speaks of endorsing ("we will sign when the text is final"), not in
// a description ("when domestic courts fail them").
var temporalRe = mustLex(`\b(?:when|whenever|once|after (?:we|our|the board|approval|consult\w*|review\w*|reading)|cuando|una vez|quand|lorsque|lorsqu'\w+|une fois|quando|assim que|logo que|depois que|apres que)\b`)

var condRe = mustLex(append(words(
	`if|unless|provided|providing|as long as|on (?:the )?condition|subject to|conditional|conditionally|contingent|depending on|depends on|assuming|as soon as|until|were it not|had it not`,
	`siempre (?:y )?(?:cuando|que)|a condicion de|con la condicion|bajo la condicion|sujeto a|sujeta a|en caso de que|a menos que|salvo que|dependiendo de|depende de|una vez que|condicionad\w*|condicion de que|hasta que`,
	`sous reserve|a condition (?:que|de|qu')|pourvu qu\w*|a moins qu\w*|sauf si|dans la mesure ou|des que|une fois que|sous condition|moyennant|jusqu'a ce que|s'il|s'ils|si`,
	`desde que|contanto que|caso|com a condicao|sob (?:a )?condicao|na condicao|a menos que|salvo se|dependendo|depende de|sujeito a|ate que`,
), `\bse (?:o|a|os|as|voce|voces|vcs|for|forem|houver|puder|puderem|incluir|incluirem|mudar|mudarem|alterar|alterarem|nao|tiver|tiverem|isso|este|esta|nosso|nossa)\b`)...)

var hedgeRe = mustLex(append(words(
	`maybe|perhaps|probably|i think|i believe|i guess|i suppose|we think we|we believe we|creo que|creemos que|supongo|je pense|je crois|nous pensons|acho que|penso que|acredito que|possibly|might|may be able|not sure|unsure|uncertain|consider|considering|think about|thinking about|discuss|discussing|consult|consulting|check with|checking with|run (?:it|this) by|get back to you|let you know|come back to you|revert|in principle|tentative|tentatively|pending|not yet|yet to|whether|need to|needs to|need more|have to (?:ask|check|discuss|consult|confirm)|approval|reviewing|look into|looking into|(?:will|to|must|shall|should|can|could|would) decide|deciding|undecided|before (?:we|signing|endorsing|committing)|more (?:information|details|time)`,
	`quizas?|tal vez|a lo mejor|posiblemente|probablemente|no estamos seguros|consultar\w*|consultaremos|discutir\w*|evaluar\w*|evaluaremos|analizar\w*|analizaremos|estudiar\w*|revisar\w*|les confirmaremos|les confirmo|les avisaremos|les aviso|en principio|todavia no|aun no|pendiente|mas adelante|necesitamos|antes de (?:firmar|sumarnos|adherirnos|confirmar)|decidir|aprobacion`,
	`peut-etre|probablement|eventuellement|possiblement|pas sur|pas surs|consulter|consultons|discuter|discutons|examiner|examinons|etudier|etudions|reviendrons|reviens vers vous|revenons vers vous|en principe|pas encore|plus tard|en attente|avant de (?:signer|nous engager|confirmer)|decider|approbation|tiendrons au courant|tiendrons informes`,
	`talvez|provavelmente|possivelmente|nao temos certeza|consultaremos|discutiremos|avaliar|avaliaremos|analisar|analisaremos|estudar|retornaremos|daremos retorno|em principio|ainda nao|pendente|mais tarde|antes de (?:assinar|aderir|confirmar)|aprovacao|precisamos`,
), `n't yet\b`)...)

var declineRe = mustLex(`^(?:not (?:at this time|this time|now|for now)|no por ahora|por ahora no|de momento no|pas pour le moment|pas cette fois|agora nao|por enquanto nao)\b|\b(?:no,? (?:thanks|thank you)|not interested|count (?:us|me) out|(?:we|i) (?:reject|oppose|object to) (?:the|this|your) (?:letter|statement|initiative|text)|we are against (?:the|this) (?:letter|statement|initiative)|` +
	`(?:but|pero|mais|mas),? (?:no|non|nao)$|nos oponemos|estamos en contra|rejetons|nous opposons|sommes contre|rejeitamos|opomo-nos|somos contra|(?:we|i) (?:will |would |must |have to |respectfully |regretfully |unfortunately |'ll )*decline|(?:we|i)(?:'ll| will| must| have to| would rather| prefer to) pass(?: on this(?: one)?| this time)?$|not for us|we(?:'ll| will) sit this one out|` +
	`no,? gracias|no (?:estamos|nos) interes\w*|declinamos|rechazamos|preferimos no|` +
	`non,? merci|pas interess\w*|declinons|refusons|preferons ne pas|` +
	`nao,? obrigad[oa]|nao (?:temos|estamos) interess\w*|recusamos|preferimos nao)\b`)

// withdrawRe asks to take back an endorsement already given.
var withdrawRe = mustLex(`\b(?:withdraw (?:our|my) (?:endorsement|support|signature|name)|remove (?:us|me|our (?:name|organi[sz]ation|signature|endorsement|logo)|my (?:name|signature|endorsement)) from the (?:letter|list of (?:signatories|endorsers)|statement|signatories|endorsers)|remov\w* (?:o )?(?:nosso|meu) nome da carta|quiten (?:nuestro nombre|nuestra firma) de la carta|take (?:our|my) name off the (?:letter|list of (?:signatories|endorsers))|retir\w* (?:nuestra|nuestro|notre|nossa|nosso|a nossa|o nosso) (?:firma|adhesion|apoyo|respaldo|signature|soutien|assinatura|apoio|adesao|endosso|nombre|nom|nome))\b`)

var unsubRe = mustLex(`^(?:please )?unsubscribe(?: (?:me|us))?$|\b(?:(?:please|pls|kindly) unsubscribe|unsubscribe (?:me|us|this|my|our)|(?:want|wish|like|would like|need) to unsubscribe|how (?:do|can|could) (?:i|we) unsubscribe|remove (?:us|me)|remove (?:our|my) (?:\w+ ){0,3}from (?:your|the|this) (?:mailing |e-?mail |distribution |contact )?(?:list|lists|database)|take (?:us|me) off|stop (?:sending|emailing|e-mailing|contacting|writing)|please stop|opt(?: |-)?out|no (?:more|further) (?:e-?mails?|messages|mails?|contact)|do not (?:email|e-mail|contact|write to) (?:us|me)|don't (?:email|e-mail|contact|write to) (?:us|me)|off (?:your|the) (?:mailing |e-?mail |distribution )?list|delete (?:us|me|our|my) (?:from|address|details|email)|` +
	`darse de baja|dar(?:me|nos)? de baja|denme de baja|dennos de baja|den de baja|eliminen(?:me|nos)|eliminar(?:me|nos)|(?:eliminen|borren|quiten) (?:mi|nuestro|nuestra|nuestros|nuestras) (?:correo|direccion|contacto|datos|email|e-mail|correos)|borren(?:me|nos)|borrar(?:me|nos)|quiten(?:me|nos)|sacar(?:me|nos)?(?: de (?:la|su|esta|sus) lista)|saquen(?:me|nos)|quitar(?:me|nos) de (?:la|su|esta) lista|retiren (?:mi|nuestro|nuestra) (?:correo|direccion|email|e-mail|contacto)|no (?:me|nos) (?:envien|manden|escriban|contacten)|dejen de (?:enviar|escribir|mandar|contactar)|desuscribir\w*|desinscribir\w*|anular (?:la |mi |nuestra )?suscripcion|cancelar (?:la |mi |nuestra )?suscripcion|no (?:deseamos|queremos|deseo|quiero) recibir|` +
	`desabonner|desabonnez|desabonnement|desinscrire|desinscrivez|desinscription|retirez[- ](?:nous|moi)|supprimez[- ](?:nous|moi)|ne plus recevoir|ne plus (?:m'|nous )?(?:ecrire|contacter|envoyer|solliciter)|retir\w* (?:mon|notre|nos|mes) (?:adresse|courriel|email|e-mail|contact)\w*|(?:retirez|supprimez|enlevez)[- ](?:nous|moi)|supprimer (?:mon|notre) adresse|cessez (?:de|d')|arretez (?:de|d')|ne (?:nous|me) (?:contactez|ecrivez|envoyez) plus|` +
	`descadastr\w*|remov\w* (?:meu|nosso|o meu|o nosso|nos|me)|remova-(?:nos|me)|removam-(?:nos|me)|retirem-(?:nos|me)|retire-(?:nos|me)|nao (?:nos|me) (?:enviem|mandem|contatem|contactem|escrevam)|parem de (?:enviar|mandar|escrever)|cancelar (?:a |minha |nossa )?inscricao|nao (?:desejamos|queremos|desejo|quero) (?:mais )?receber|deixar de receber)\b|^stop$`)

// disclaimerRe marks boilerplate footers ("If you are not the intended
// recipient...", "Antes de imprimir...") whose conditions and negations
// say nothing about the letter. It runs on normalised text.
var disclaimerRe = regexp.MustCompile(`intended recipient|(?:this|the) (?:e-?mail|message)(?: and any attachments?)? (?:is|are|may contain|contains) (?:confidential|intended|privileged)|scanned for viruses|virus-free|before (?:you )?print|` +
	`si usted no es el destinatario|destinatario (?:previsto|indicado)|este (?:mensaje|correo)(?: y sus anexos)? (?:es confidencial|puede contener)|antes de imprimir|medio ambiente|` +
	`si vous n'etes pas (?:le )?destinataire|ce (?:message|courriel)(?: et ses pieces jointes)? (?:est confidentiel|peut contenir)|avant d'imprimer|l'environnement|` +
	`se (?:voce )?nao (?:e|for) o destinatario|esta (?:mensagem|e-mail)(?: e seus anexos)? (?:e confidencial|pode conter)|meio ambiente`)

// nonSignature words do not occur in a signature block: a line holding one
// after a bare "yes" is part of the answer.
var nonSignature = setOf(`please kindly only but except however unless if not cannot pero solo solamente excepto salvo favor si no mais seulement sauf ne pas mas apenas exceto gentileza se nao`)

var oooRe = mustLex(`\b(?:out of (?:the )?office|on (?:annual |parental |maternity |paternity |sick |study )?leave|on (?:vacation|holiday|holidays)|away from (?:the office|my desk|e-?mail)|limited access to (?:e-?mail|my e-?mail)|will (?:be )?back (?:on|in the office)|return(?:ing)? to the office|automatic reply|auto-?reply|autoreply|this is an automated|do not reply to this|` +
	`fuera de la oficina|de vacaciones|ausente (?:de la oficina|hasta)|estare (?:de regreso|fuera)|respuesta automatica|mensaje automatico|` +
	`absente? (?:du bureau|jusqu)|en conge|en vacances|hors du bureau|de retour le|reponse automatique|message automatique|` +
	`fora do escritorio|de ferias|ausente ate|estarei (?:de volta|fora)|resposta automatica|mensagem automatica)\b`)

var autoSubjectRe = regexp.MustCompile(`^(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response|respuesta|reponse|resposta)|autoreply|out of (?:the )?office|ooo\b|respuesta automatica|reponse automatique|resposta automatica|absence|abwesenheit|fuera de la oficina|ausencia|ausente|away from|vacation|on leave|absent|de vacaciones|en conge|de ferias|automatische antwort)`)

var questionAboutRe = mustLex(`\b(?:what does .{0,40}mean|what do you mean|que significa|qu'est-ce que|que signifie|o que significa|what is expected|what would (?:it|this|that) (?:mean|involve|entail))\b`)

// yesWords answer an endorsement request on their own.
var yesWords = setOf(`yes|yes please|yes of course|yes absolutely|yes indeed|yes definitely|yes certainly|yes sure|yes we do|yes we will|yes we can|yes we agree|yes we would|yes yes|yep|yeah|sure|absolutely|definitely|of course|certainly|agreed|` +
	`sy|si|sy claro|sy por supuesto|sy con gusto|sy desde luego|claro|claro que sy|claro que si|por supuesto|desde luego|con gusto|sy sy|` +
	`oui|oui bien sur|oui avec plaisir|oui volontiers|oui absolument|oui tout a fait|bien sur|volontiers|avec plaisir|absolument|d'accord|oui oui|` +
	`sim|sim claro|sim com certeza|sim com prazer|com certeza|claro que sim|com prazer|sim sim`)

// strongYes are the yes words that may be Sure on their own.
var strongYes = setOf(`yes|yes please|yes of course|yes absolutely|yes indeed|yes definitely|yes certainly|yes we do|yes we will|yes we agree|yes yes|sy|sy claro|sy por supuesto|sy con gusto|claro que sy|oui|oui bien sur|oui avec plaisir|oui volontiers|oui absolument|oui tout a fait|oui oui|sim|sim claro|sim com certeza|sim com prazer|claro que sim|sim sim`)

var noWords = setOf(`no|nope|no thanks|no thank you|no sorry|sorry no|no gracias|non|non merci|nao|nao obrigado|nao obrigada|no we don't|no we won't|no we will not|no we do not|` +
	`of course not|certainly not|absolutely not|definitely not|claro que no|por supuesto que no|bien sur que non|claro que nao|non merci|no no|non non|nao nao`)

var valedictionRe = regexp.MustCompile(`^(?:best|best regards|kind regards|warm regards|warmest regards|regards|many thanks|thanks|thank you|thanks again|thank you very much|cheers|sincerely|yours sincerely|yours truly|yours|respectfully|with best wishes|best wishes|all the best|in solidarity|solidarity|with solidarity|warmly|` +
	`saludos|saludos cordiales|un saludo|un cordial saludo|cordiales saludos|atentamente|cordialmente|abrazos|un abrazo|gracias|muchas gracias|en solidaridad|saludos solidarios|` +
	`cordialement|bien cordialement|bien a vous|salutations|merci|merci beaucoup|amicalement|sinceres salutations|solidairement|meilleures salutations|` +
	`atenciosamente|abracos|um abraco|obrigado|obrigada|muito obrigado|muito obrigada|saudacoes|cumprimentos|com os melhores cumprimentos|em solidariedade|saudacoes solidarias)[\s,.!]*$`)

// Stop words per language for detection.
var langWords = map[string]map[string]bool{
	"en": setOf(`the and we our you yes please thanks thank with this will be of is are us to for it that happy glad endorse sign letter not remove stop`),
	"es": setOf(`el los las y nos nuestra nuestro gracias sy muy estamos somos esta este con una saludos hola tambien claro firmar sumamos pueden podemos baja asociacion respalda respaldamos`),
	"fr": setOf(`le les des et nous notre vous est une oui merci cette avec sommes bonjour cordialement pour au aux lettre signer je non pas`),
	"pt": setOf(`o os nossa nosso obrigado obrigada sim nao muito e uma com estamos somos voce voces tambem ola em ao do da dos das atenciosamente carta assinar podem assinamos descadastrar associacao organizacao apoia apoiamos direcao`),
}

// words wraps each alternation of whole words in \b(?:...)\b.
func words(alternations ...string) []string {
	out := make([]string, len(alternations))
	for i, a := range alternations {
		out[i] = `\b(?:` + a + `)\b`
	}
	return out
}

func setOf(words string) map[string]bool {
	out := map[string]bool{}
	sep := " \n\t"
	if strings.Contains(words, "|") {
		sep = "|\n"
	}
	for _, w := range strings.FieldsFunc(words, func(r rune) bool { return strings.ContainsRune(sep, r) }) {
		out[strings.TrimSpace(w)] = true
	}
	return out
}
