import HeraldCore

/// The tables behind `UserGenerator`: locales with their country, time zones and phone numbering,
/// and names per language.
///
/// Phone numbers follow each country's mobile numbering so that they look right to a person and
/// to an E.164 check. For the United States and Canada they fall in the 555-01XX range, and for
/// the United Kingdom in Ofcom's 07700 900XXX drama range, both reserved for fiction; elsewhere no
/// such range exists, so generated users must only ever be sent to through `herald sandbox`.
/// Emails use the reserved `example.*` domains.
enum SyntheticPeople {
    /// A name as shown, and its ASCII form for email addresses.
    struct Name: Sendable {
        var display: String
        var ascii: String

        init(_ display: String, _ ascii: String? = nil) {
            self.display = display
            self.ascii = ascii ?? display.lowercased()
        }
    }

    struct Names: Sendable {
        var first: [Name]
        var last: [Name]
    }

    /// How a country's mobile numbers are written: a fixed start chosen from `prefixes`, then
    /// `digits` random digits.
    struct PhonePlan: Sendable {
        var prefixes: [String]
        var digits: Int
    }

    struct LocaleProfile: Sendable {
        var locale: String
        var country: String
        /// Out of the sum of all profiles' weights.
        var weight: Int
        /// Zone names with weights, most populous first.
        var timeZones: [(name: String, weight: Int)]
        var phone: PhonePlan
        var names: Names
        /// Push platform weights (ios, android, web) out of 100.
        var platformWeights: (ios: Int, android: Int, web: Int)
    }

    static let english = Names(
        first: ["James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella",
                "Lucas", "Mia", "Mason", "Amelia", "Ethan", "Harper", "Jack", "Grace", "Henry", "Chloe"].map { Name($0) },
        last: ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark",
               "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson"].map { Name($0) }
    )

    static let korean = Names(
        first: [Name("민준", "minjun"), Name("서연", "seoyeon"), Name("도윤", "doyun"), Name("지우", "jiwoo"),
                Name("하준", "hajun"), Name("서윤", "seoyun"), Name("시우", "siwoo"), Name("하은", "haeun"),
                Name("지호", "jiho"), Name("수아", "sua"), Name("예준", "yejun"), Name("지민", "jimin")],
        last: [Name("김", "kim"), Name("이", "lee"), Name("박", "park"), Name("최", "choi"), Name("정", "jung"),
               Name("강", "kang"), Name("조", "cho"), Name("윤", "yoon"), Name("장", "jang"), Name("임", "lim")]
    )

    static let japanese = Names(
        first: [Name("陽翔", "haruto"), Name("結衣", "yui"), Name("蓮", "ren"), Name("陽葵", "himari"),
                Name("湊", "minato"), Name("芽依", "mei"), Name("大翔", "hiroto"), Name("さくら", "sakura"),
                Name("悠真", "yuma"), Name("美咲", "misaki"), Name("颯太", "sota"), Name("葵", "aoi")],
        last: [Name("佐藤", "sato"), Name("鈴木", "suzuki"), Name("高橋", "takahashi"), Name("田中", "tanaka"),
               Name("伊藤", "ito"), Name("渡辺", "watanabe"), Name("山本", "yamamoto"), Name("中村", "nakamura"),
               Name("小林", "kobayashi"), Name("加藤", "kato")]
    )

    static let german = Names(
        first: [Name("Lukas"), Name("Mia"), Name("Leon"), Name("Emilia"), Name("Finn"), Name("Hannah"), Name("Jonas"),
                Name("Lena"), Name("Paul"), Name("Sophie"), Name("Felix"), Name("Jürgen", "juergen"), Name("Marie"), Name("Maximilian")],
        last: [Name("Müller", "mueller"), Name("Schmidt"), Name("Schneider"), Name("Fischer"), Name("Weber"), Name("Meyer"),
               Name("Wagner"), Name("Becker"), Name("Schulz"), Name("Hoffmann"), Name("Koch"), Name("Schäfer", "schaefer")]
    )

    static let french = Names(
        first: [Name("Gabriel"), Name("Louise"), Name("Raphaël", "raphael"), Name("Jade"), Name("Léo", "leo"), Name("Ambre"),
                Name("Louis"), Name("Chloé", "chloe"), Name("Jules"), Name("Inès", "ines"), Name("Hugo"), Name("Manon")],
        last: [Name("Martin"), Name("Bernard"), Name("Dubois"), Name("Thomas"), Name("Robert"), Name("Richard"),
               Name("Petit"), Name("Durand"), Name("Leroy"), Name("Moreau"), Name("Lefèvre", "lefevre"), Name("Girard")]
    )

    static let spanish = Names(
        first: [Name("Hugo"), Name("Lucía", "lucia"), Name("Martín", "martin"), Name("Sofía", "sofia"), Name("Mateo"),
                Name("Martina"), Name("Pablo"), Name("Paula"), Name("Álvaro", "alvaro"), Name("Carmen"), Name("Daniel"), Name("Elena")],
        last: [Name("García", "garcia"), Name("Rodríguez", "rodriguez"), Name("González", "gonzalez"), Name("Fernández", "fernandez"),
               Name("López", "lopez"), Name("Martínez", "martinez"), Name("Sánchez", "sanchez"), Name("Pérez", "perez"),
               Name("Gómez", "gomez"), Name("Ruiz"), Name("Díaz", "diaz"), Name("Moreno")]
    )

    static let portuguese = Names(
        first: [Name("Miguel"), Name("Helena"), Name("Arthur"), Name("Alice"), Name("Heitor"), Name("Laura"), Name("Davi"),
                Name("Manuela"), Name("Gael"), Name("Valentina"), Name("João", "joao"), Name("Beatriz")],
        last: [Name("Silva"), Name("Santos"), Name("Oliveira"), Name("Souza"), Name("Rodrigues"), Name("Ferreira"),
               Name("Alves"), Name("Pereira"), Name("Lima"), Name("Gomes"), Name("Ribeiro"), Name("Araújo", "araujo")]
    )

    static let profiles: [LocaleProfile] = [
        LocaleProfile(
            locale: "en-US", country: "US", weight: 28,
            timeZones: [("America/New_York", 40), ("America/Chicago", 25), ("America/Los_Angeles", 20),
                        ("America/Denver", 8), ("America/Phoenix", 4), ("Pacific/Honolulu", 2), ("America/Anchorage", 1)],
            phone: PhonePlan(prefixes: ["+121255501", "+131255501", "+141555501", "+161755501", "+120655501",
                                        "+151255501", "+130355501", "+140455501", "+130555501", "+171355501"], digits: 2),
            names: english, platformWeights: (55, 35, 10)
        ),
        LocaleProfile(
            locale: "en-GB", country: "GB", weight: 10, timeZones: [("Europe/London", 1)],
            phone: PhonePlan(prefixes: ["+447700900"], digits: 3), names: english, platformWeights: (50, 38, 12)
        ),
        LocaleProfile(
            locale: "en-CA", country: "CA", weight: 4,
            timeZones: [("America/Toronto", 50), ("America/Vancouver", 25), ("America/Edmonton", 15), ("America/Halifax", 10)],
            phone: PhonePlan(prefixes: ["+141655501", "+160455501", "+151455501", "+140355501"], digits: 2),
            names: english, platformWeights: (50, 38, 12)
        ),
        LocaleProfile(
            locale: "en-AU", country: "AU", weight: 4,
            timeZones: [("Australia/Sydney", 45), ("Australia/Melbourne", 30), ("Australia/Brisbane", 15), ("Australia/Perth", 10)],
            phone: PhonePlan(prefixes: ["+6141", "+6142", "+6143", "+6145"], digits: 7), names: english, platformWeights: (52, 38, 10)
        ),
        LocaleProfile(
            locale: "ko-KR", country: "KR", weight: 12, timeZones: [("Asia/Seoul", 1)],
            phone: PhonePlan(prefixes: ["+8210"], digits: 8), names: korean, platformWeights: (30, 62, 8)
        ),
        LocaleProfile(
            locale: "ja-JP", country: "JP", weight: 10, timeZones: [("Asia/Tokyo", 1)],
            phone: PhonePlan(prefixes: ["+8190", "+8180", "+8170"], digits: 8), names: japanese, platformWeights: (65, 27, 8)
        ),
        LocaleProfile(
            locale: "de-DE", country: "DE", weight: 10, timeZones: [("Europe/Berlin", 1)],
            phone: PhonePlan(prefixes: ["+49151", "+49160", "+49170", "+49171", "+49172", "+49175", "+49176"], digits: 8),
            names: german, platformWeights: (38, 47, 15)
        ),
        LocaleProfile(
            locale: "fr-FR", country: "FR", weight: 8, timeZones: [("Europe/Paris", 1)],
            phone: PhonePlan(prefixes: ["+336", "+337"], digits: 8), names: french, platformWeights: (40, 45, 15)
        ),
        LocaleProfile(
            locale: "es-ES", country: "ES", weight: 6, timeZones: [("Europe/Madrid", 95), ("Atlantic/Canary", 5)],
            phone: PhonePlan(prefixes: ["+346"], digits: 8), names: spanish, platformWeights: (30, 58, 12)
        ),
        LocaleProfile(
            locale: "pt-BR", country: "BR", weight: 8,
            timeZones: [("America/Sao_Paulo", 85), ("America/Manaus", 10), ("America/Recife", 5)],
            phone: PhonePlan(prefixes: ["+55119", "+55219", "+55319", "+55419", "+55519", "+55619"], digits: 8),
            names: portuguese, platformWeights: (20, 72, 8)
        ),
    ]

    static let emailDomains = ["example.com", "example.net", "example.org", "mail.example.com"]

    /// The user-visible tags of the sample schema with the share of users that carry each.
    static let tagShares: [(tag: String, share: Double)] = [("vip", 0.05), ("beta", 0.10), ("newsletter", 0.40), ("wishlist", 0.25)]

    /// Web Push services as browsers report them; the path after each is the subscription id.
    static let webPushServices = [
        "https://fcm.googleapis.com/fcm/send/",
        "https://updates.push.services.mozilla.com/wpush/v2/",
        "https://web.push.apple.com/",
    ]
}
