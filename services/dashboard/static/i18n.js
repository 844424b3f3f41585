/* The page's two languages, Bahasa Indonesia and English: every text of the page is here. */
"use strict";

const TEXTS = {
  id: {
    title: "Bus layanan perwakilan",
    subtitle: "Perwakilan RI di luar negeri, langsung",
    live: "langsung", connecting: "menyambung…", offline: "terputus",
    logout: "Keluar", login_title: "Masuk", username: "Nama pengguna", password: "Kata sandi", login: "Masuk",
    login_failed: "Nama pengguna atau kata sandi salah.",
    login_limited: "Terlalu banyak percobaan gagal; coba lagi nanti.",
    nothing: "Peran Anda tidak melihat angka apa pun di sini.",
    traffic: "Lalu lintas", heard_last_hour: "perwakilan terdengar dalam satu jam terakhir, dari",
    hour_citizen: "peristiwa WNI, satu jam terakhir", hour_passport: "peristiwa paspor, satu jam terakhir",
    hour_protection: "peristiwa pelindungan, satu jam terakhir", this_minute: "peristiwa menit ini",
    per_minute: "Peristiwa per menit menurut domain", by_office_hour: "Peristiwa per perwakilan, satu jam terakhir",
    citizens: "WNI di luar negeri", abroad: "terdaftar di luar negeri", by_office: "Per perwakilan",
    by_country: "Per negara",
    protection: "Kasus pelindungan", open: "terbuka", overdue: "lewat tenggat",
    open_by_office: "Terbuka per perwakilan", overdue_by_office: "Lewat tenggat per perwakilan",
    passport: "Layanan paspor", quota_used: "slot terpakai (kuota)", refusals: "permohonan ditolak",
    quota_by_office: "Kuota terpakai per kantor", refusals_by_reason: "Penolakan per alasan",
    deadletters: "Surat mati (dead letters)", refused_records: "rekaman ditolak", by_reason: "Per alasan",
    by_component: "Per komponen",
    lag: "Ketertinggalan konsumen", processor: "pemroses", stage: "tahap", partition: "partisi",
    progress: "progres tersimpan", end: "offset akhir", lag_records: "tertinggal", ready: "siap",
    yes: "ya", no: "tidak", not_answering: "Tidak menjawab:",
    footer: "Angka dibaca langsung dari topik tampilan (compacted) bus.",
    scope_office: "Perwakilan Anda:", scope_central: "Semua perwakilan",
    as_of: "per", no_data: "belum ada data",
    domain_citizen: "WNI", domain_passport: "paspor", domain_protection: "pelindungan",
  },
  en: {
    title: "Mission service bus",
    subtitle: "Indonesia's missions abroad, live",
    live: "live", connecting: "connecting…", offline: "offline",
    logout: "Log out", login_title: "Log in", username: "Username", password: "Password", login: "Log in",
    login_failed: "Wrong username or password.",
    login_limited: "Too many failed attempts; try again later.",
    nothing: "Your role sees no figures here.",
    traffic: "Traffic", heard_last_hour: "offices heard from in the last hour, of",
    hour_citizen: "citizen events, last hour", hour_passport: "passport events, last hour",
    hour_protection: "protection events, last hour", this_minute: "events this minute",
    per_minute: "Events per minute by domain", by_office_hour: "Events by office, last hour",
    citizens: "Citizens abroad", abroad: "registered abroad", by_office: "By office", by_country: "By country",
    protection: "Protection cases", open: "open", overdue: "overdue",
    open_by_office: "Open by office", overdue_by_office: "Overdue by office",
    passport: "Passport service", quota_used: "slots held (quota used)", refusals: "requests refused",
    quota_by_office: "Quota used by office", refusals_by_reason: "Refusals by reason",
    deadletters: "Dead letters", refused_records: "records refused", by_reason: "By reason",
    by_component: "By component",
    lag: "Consumer lag", processor: "processor", stage: "stage", partition: "partition",
    progress: "stored progress", end: "end offset", lag_records: "lag", ready: "ready",
    yes: "yes", no: "no", not_answering: "Not answering:",
    footer: "Figures are read live from the bus's compacted view topics.",
    scope_office: "Your office:", scope_central: "Every office",
    as_of: "as of", no_data: "no data yet",
    domain_citizen: "citizen", domain_passport: "passport", domain_protection: "protection",
  },
};

const I18N = {
  lang: "id",
  /** The text of ``key`` in the current language (the key itself if there is none). */
  t(key) {
    return (TEXTS[I18N.lang] && TEXTS[I18N.lang][key]) || TEXTS.en[key] || key;
  },
  /** Numbers as the language writes them (1.234 in Indonesian, 1,234 in English). */
  number(n) {
    return new Intl.NumberFormat(I18N.lang === "id" ? "id-ID" : "en-GB").format(n);
  },
  time(iso) {
    return new Date(iso).toLocaleTimeString(I18N.lang === "id" ? "id-ID" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  },
  /** Switch language: every [data-i18n] element is rewritten, the choice kept in this browser. */
  use(lang) {
    I18N.lang = TEXTS[lang] ? lang : "en";
    document.documentElement.lang = I18N.lang;
    try { localStorage.setItem("bus.lang", I18N.lang); } catch (e) { /* private mode: not kept */ }
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = I18N.t(el.dataset.i18n);
    for (const b of document.querySelectorAll(".lang button")) b.classList.toggle("active", b.dataset.lang === I18N.lang);
    document.title = I18N.t("title");
  },
  initial() {
    let kept = null;
    try { kept = localStorage.getItem("bus.lang"); } catch (e) { /* none kept */ }
    if (kept) return kept;
    return (navigator.language || "id").toLowerCase().startsWith("en") ? "en" : "id";
  },
};
