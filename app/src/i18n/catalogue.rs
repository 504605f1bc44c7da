//! The catalogue: every text in zh-TW (first) and English. Blanks are `{name}`; both
//! languages of a text have the same blanks (a test checks it).

macro_rules! catalogue {
    ($( $key:ident => $zh:literal, $en:literal; )*) => {
        /// A text of the page.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Key { $( $key, )* }

        impl Key {
            /// Every text, in catalogue order.
            pub const ALL: &'static [Key] = &[ $( Key::$key, )* ];

            /// The Traditional Chinese (Taiwan) text.
            pub fn zh_tw(self) -> &'static str {
                match self { $( Key::$key => $zh, )* }
            }

            /// The English text.
            pub fn en(self) -> &'static str {
                match self { $( Key::$key => $en, )* }
            }
        }
    };
}

catalogue! {
    // The page around every step.
    AppTitle => "自然人憑證線上展期", "Citizen certificate online renewal";
    LanguageSwitch => "English", "中文";
    LanguageSwitchLabel => "切換為英文（English）", "Switch to Chinese (中文)";
    InfoLink => "展期須知與戶政事務所", "About renewal, and the offices";
    BackToRenewal => "返回展期作業", "Back to the renewal";
    StepsLabel => "展期步驟", "Renewal steps";
    StepConnect => "連接讀卡機", "Connect the reader";
    StepCard => "讀取卡片", "Read the card";
    StepIdentity => "確認身分", "Confirm identity";
    StepRenew => "展期", "Renew";
    StepFinish => "完成", "Done";
    TechnicalDetail => "技術資訊（報修時請提供）", "Technical details (for a support call)";
    Working => "處理中，請稍候…", "Working, please wait…";

    // Next actions.
    ActionTryAgain => "再試一次", "Try again";
    ActionChooseReader => "重新選擇讀卡機", "Choose the reader again";
    ActionStartOver => "從頭開始", "Start over";
    ActionCounter => "臨櫃辦理：戶政事務所與應備證件", "At a counter: offices and what to bring";
    ActionOfficialProgram => "內政部憑證管理中心網站（自然人憑證線上展期軟體）", "The MOICA website (the official renewal program)";
    ActionReload => "重新載入網頁", "Reload the page";

    // Start.
    StartIntro => "自然人憑證5年到期前為有效狀態者，可辦理展期3年，共計8年。申請期間為憑證到期前60天至有效期限屆滿後3年內，每張憑證限展期一次，且不收取費用。本網頁直接使用您的USB讀卡機，不需安裝任何元件。", "A citizen certificate that is valid until the end of its 5 years can be renewed once for 3 more years, 8 in all. You can renew from 60 days before it expires until 3 years after. Renewal is free. This page uses your USB card reader directly: there is nothing to install.";
    NeedTitle => "請準備", "You need";
    NeedCard => "自然人憑證IC卡", "your citizen certificate card";
    NeedReader => "USB讀卡機", "a USB card reader";
    NeedNationalId => "身分證字號", "your national ID number";
    NeedBirthday => "出生年月日", "your date of birth";
    NeedPin => "PIN碼（6至8碼英文字母或數字；若未曾變更，預設為民國出生年月日6碼，例如60年1月1日為600101）", "the card's PIN (6 to 8 letters or digits; unless you changed it, it is your birthday in ROC form, yymmdd: 1 January ROC 60 is 600101)";
    ChannelsTitle => "展期方式有下列三種，請依個人需求擇一辦理", "There are three ways to renew; choose one";
    ChannelProgram => "下載『自然人憑證線上展期軟體』（Windows）：作業中共需輸入二次PIN碼，完成後可列印收執聯。", "The official renewal program (Windows): you enter the PIN twice, and can print a receipt at the end.";
    ChannelWeb => "網頁線上申請（本網頁）：插入卡片、選擇讀卡機，確認憑證內容後輸入身分證字號、生日及PIN碼。展期作業執行過程中，請勿將卡片抽出。", "On the web (this page): insert the card, choose the reader, check the certificate, then type your ID number, birthday and PIN. Do not remove the card while the renewal runs.";
    ChannelCounter => "戶政事務所臨櫃申請：請本人攜帶國民身分證與自然人憑證IC卡，至任一戶政事務所辦理（不限戶籍地，可跨縣市辦理）。受理時間為週一至週五，上午8:30至12:00、下午1:30至5:00。", "At the counter of any household registration office (in any city): bring your national ID card and the citizen certificate card. Open Monday to Friday, 08:30–12:00 and 13:30–17:00.";
    StartButton => "連接讀卡機", "Connect the card reader";
    StartButtonHint => "按下後瀏覽器會列出讀卡機，請選擇您的讀卡機並按「連線」。", "Your browser will list the readers: choose yours and press \"Connect\".";

    // Unsupported browser.
    UnsupportedNoWebUsbTitle => "此瀏覽器無法使用網頁線上展期", "This browser cannot renew on the web";
    UnsupportedNoWebUsbExplanation => "本網頁透過WebUSB直接與讀卡機溝通，目前只有Chrome、Edge等Chromium系列瀏覽器支援，Firefox與Safari不支援。請改用Chrome或Edge開啟本網頁，或使用下列其他方式辦理。", "This page talks to the card reader through WebUSB, which only Chromium browsers such as Chrome and Edge have; Firefox and Safari do not. Open this page in Chrome or Edge, or renew another way.";
    UnsupportedInsecureTitle => "此網頁不是以安全連線開啟", "This page was not opened over a secure connection";
    UnsupportedInsecureExplanation => "瀏覽器只允許以安全連線（https）開啟的網頁使用讀卡機。請確認網址以 https:// 開頭後重新開啟，或使用下列其他方式辦理。", "Browsers let only pages opened securely (https) use a card reader. Check that the address starts with https:// and open it again, or renew another way.";
    OtherChannelsTitle => "其他辦理方式", "Other ways to renew";

    // Choosing a reader.
    ChoosingTitle => "請選擇讀卡機", "Choose your card reader";
    ChoosingExplanation => "請在瀏覽器顯示的視窗中選擇您的讀卡機，再按「連線」。清單中沒有讀卡機時，請確認讀卡機已插上USB插槽。", "Choose your reader in the window your browser shows, then press \"Connect\". If the list is empty, check that the reader is plugged in.";

    // Reader guidance.
    GuidanceProtectedTitle => "瀏覽器不允許一般網頁使用這台讀卡機", "The browser does not let an ordinary page use this reader";
    GuidanceProtectedExplanation => "依WebUSB標準，瀏覽器保護標準智慧卡讀卡機（USB介面類別0x0B），一般網頁分頁無法使用。可行的方式如下：", "Under the WebUSB standard, browsers protect standard smart-card readers (USB interface class 0x0B) from ordinary tabs. What works:";
    GuidanceOtherReader => "改用不屬於此類別的讀卡機（例如虹堡 EZ100PU），在一般分頁即可使用。", "A reader outside that class (such as the Castles EZ100PU) works in an ordinary tab.";
    GuidanceKiosk => "使用機關設置的展期服務站（Kiosk），或以隔離式網頁應用程式（Isolated Web App）安裝本服務：任何讀卡機皆可使用。", "Any reader works at a renewal kiosk, or with this service installed as an Isolated Web App.";
    GuidanceKioskStaff => "本機已設定為服務站模式，若仍無法使用讀卡機，請洽現場服務人員。", "This device is set up as a kiosk; if the reader still cannot be used, ask the staff.";
    GuidanceCounter => "至任一戶政事務所臨櫃辦理。", "Renew at the counter of any household registration office.";
    GuidanceHeldTitle => "讀卡機正被作業系統或其他程式使用", "The operating system or another program holds the reader";
    GuidanceHeldExplanation => "網頁無法取得這台讀卡機的使用權。請依您的作業系統處理後，再重新選擇讀卡機：", "The page could not get the use of this reader. Depending on your system, do this and choose the reader again:";
    OsHintWindows => "Windows：讀卡機需使用WinUSB驅動程式，而非內建的智慧卡驅動程式。", "Windows: the reader must use the WinUSB driver, not the built-in smart-card driver.";
    OsHintLinux => "Linux：需有允許您使用此裝置的udev規則，且pcscd不得占用讀卡機（請先停止pcscd）。", "Linux: a udev rule must give you access to the device, and pcscd must not hold it (stop pcscd first).";
    OsHintMac => "macOS：請先關閉其他使用讀卡機的程式。", "macOS: close any other program that uses the reader.";
    GuidanceUnsupportedTitle => "無法使用這台讀卡機", "This reader cannot be used";
    GuidanceUnsupportedExplanation => "這台裝置不是本網頁能使用的USB智慧卡讀卡機（CCID）。請改用其他讀卡機，或至戶政事務所臨櫃辦理。", "This device is not a USB smart-card reader (CCID) this page can drive. Use another reader, or renew at a counter.";

    // Insert the card.
    InsertTitle => "請插入自然人憑證IC卡", "Insert your citizen certificate card";
    InsertNoCardYet => "讀卡機已連線。請將自然人憑證IC卡插入讀卡機（晶片朝上，晶片端先插入）。", "The reader is connected. Insert your citizen certificate card, chip up and chip end first.";
    InsertCardRemoved => "卡片已取出。請重新插入卡片，已輸入的資料不會遺失。", "The card was taken out. Put it back in: nothing you typed is lost.";
    InsertRenewalInterrupted => "寫入新憑證時卡片被取出。請重新插入同一張卡片，系統會接續完成同一筆展期，不會重複申請。", "The card was taken out while the new certificates were being written. Put the same card back in: the same renewal will be finished, nothing is applied for twice.";
    InsertNotCitizenCard => "讀卡機中的卡片無法辨識為自然人憑證。請確認插入的是自然人憑證IC卡，且晶片朝上、方向正確。", "The card in the reader is not recognised as a citizen certificate card. Check that it is the right card, chip up, inserted the right way.";
    InsertWaiting => "偵測到卡片後會自動讀取。", "The card is read as soon as it is in.";
    ReadCardNow => "讀取卡片", "Read the card";

    // Reading.
    ReadingTitle => "正在讀取卡片", "Reading the card";
    ReadingExplanation => "正在讀取卡號與憑證，並向憑證管理中心查詢展期資格。請勿將卡片抽出。", "Reading the card number and certificates, and asking the certificate authority whether they can be renewed. Do not remove the card.";

    // The card.
    CardTitle => "憑證資訊", "Your certificates";
    CardNumberLabel => "卡號", "Card number";
    HolderLabel => "姓名", "Name";
    SignatureCertificateLabel => "簽章憑證", "Signature certificate";
    EncryptionCertificateLabel => "加密憑證", "Encryption certificate";
    SerialLabel => "序號", "Serial number";
    ValidFromLabel => "起始時間", "Valid from";
    ValidUntilLabel => "終止時間", "Valid until";
    AuthorityTime => "依內政部憑證管理中心系統時間 {time} 判定。", "As judged by the certificate authority's clock at {time}.";
    VerdictEligibleTitle => "可以辦理展期", "This certificate can be renewed";
    VerdictEligibleExplanation => "展期後，憑證有效期限延長至 {until}（自憑證到期日起算三年，共計8年）。本憑證可辦理展期至 {closes}。", "After renewal the certificates are valid until {until} (3 years from the expiry date, 8 years in all). You can renew until {closes}.";
    VerdictTooEarlyTitle => "尚未到可辦理展期的時間", "It is too early to renew";
    VerdictTooEarlyExplanation => "憑證到期前60天起才可辦理展期。本憑證自 {opens} 起可以辦理，展期後有效期限為 {until}。", "Renewal opens 60 days before expiry. This certificate can be renewed from {opens}; after renewal it will be valid until {until}.";
    VerdictTooLateTitle => "已超過可辦理展期的期間", "It is too late to renew";
    VerdictTooLateExplanation => "憑證須於有效期限屆滿後3年內辦理展期，本憑證的展期期間已於 {closed} 結束，無法展期。", "A certificate can be renewed until 3 years after it expires; for this one that ended at {closed}. It cannot be renewed.";
    NewCardInstructions => "如仍需使用憑證，請攜帶國民身分證正本、IC卡工本費新臺幣{fee}元及電子郵件信箱，親至任一戶政事務所重新申請自然人憑證（不限戶籍地，可跨縣市辦理）。", "To keep using a citizen certificate, apply for a new card at any household registration office, in any city: bring your national ID card (the original), the IC card fee of NT${fee} and an e-mail address.";
    VerdictAlreadyRenewedTitle => "此憑證已辦理過展期", "This certificate was already renewed";
    VerdictAlreadyRenewedExplanation => "每一張憑證展期僅限一次。此憑證將於 {expires} 到期並自動失效。", "A certificate can be renewed only once. This one expires for good at {expires}.";
    VerdictRevokedTitle => "此憑證已廢止", "This certificate is revoked";
    VerdictRevokedExplanation => "已廢止的憑證無法展期。請攜帶國民身分證與IC卡至任一戶政事務所洽詢。", "A revoked certificate cannot be renewed. Take your national ID card and the card to any household registration office.";
    VerdictSuspendedTitle => "此憑證已停用", "This certificate is suspended";
    VerdictSuspendedExplanation => "停用中的憑證無法展期。請攜帶國民身分證與IC卡至任一戶政事務所辦理復用或洽詢。", "A suspended certificate cannot be renewed. Take your national ID card and the card to any household registration office to have it resumed.";
    VerdictNotOriginalTitle => "此憑證無法線上展期", "This certificate cannot be renewed online";
    VerdictNotOriginalExplanation => "此憑證的有效期間不是原始的5年，無法線上展期。請攜帶國民身分證與IC卡至任一戶政事務所洽詢。", "This certificate's validity is not the original 5 years, so it cannot be renewed online. Take your national ID card and the card to any household registration office.";
    CardContinue => "下一步：確認身分", "Next: confirm your identity";
    CardReadAgain => "重新讀取卡片", "Read the card again";

    // Identity.
    IdentityTitle => "確認身分", "Confirm your identity";
    IdentityIntro => "請輸入身分證字號、出生年月日及PIN碼，最後按下「確認」。系統確認身分資料和PIN碼無誤後，會進行憑證展期作業。", "Type your national ID number, date of birth and PIN, then press \"Confirm\". Once your identity and PIN are confirmed, the renewal starts.";
    NationalIdLabel => "身分證字號", "National ID number";
    NationalIdHint => "英文字母1碼加數字9碼，例如 A123456789。", "One letter and nine digits, for example A123456789.";
    BirthdayLabel => "出生年月日", "Date of birth";
    BirthdayHint => "民國年月日，例如 0790101 或 79/01/01；也可以輸入西元日期，例如 1990-01-01。", "ROC date such as 0790101 or 79/01/01, or a Gregorian date such as 1990-01-01.";
    PinLabel => "PIN碼", "PIN";
    PinHint => "6至8碼英文字母或數字。若未曾變更，預設為民國出生年月日6碼（例如60年1月1日為600101）。", "6 to 8 letters or digits. Unless you changed it, it is your birthday in ROC form, yymmdd (1 January ROC 60 is 600101).";
    PinTriesLeft => "PIN碼還可以輸入 {n} 次；連續輸入錯誤3次，卡片將會鎖住。", "{n} PIN tries left; the card locks after 3 wrong tries in a row.";
    PinAlreadyVerified => "卡片已確認過PIN碼；請再輸入一次以繼續。", "The card has accepted your PIN; type it once more to go on.";
    IdentitySubmit => "確認", "Confirm";
    FinishPendingTitle => "完成先前的展期", "Finish your earlier renewal";
    FinishPendingIntro => "內政部憑證管理中心已為這張卡片簽發展期後的憑證，但尚未寫入卡片。請輸入PIN碼，系統會將同一筆展期的憑證寫入卡片，不會重複申請。", "The certificate authority has already issued this card's renewed certificates, but they were not written to the card. Type your PIN and the same renewal's certificates are written; nothing is applied for twice.";
    ResumeIntro => "內政部憑證管理中心已為這張卡片簽發展期後的憑證，但先前寫入卡片時中斷。請再輸入身分證字號、出生年月日及PIN碼，確認是本人後，系統會將同一筆展期的憑證寫入卡片，不會重複申請。", "The certificate authority has already issued this card's renewed certificates, but writing them to the card was interrupted. Type your ID number, birthday and PIN again: once you are confirmed as the holder, the same renewal's certificates are written; nothing is applied for twice.";
    FinishPendingSubmit => "寫入憑證", "Write the certificates";
    FormHasErrors => "請修正標示的欄位後再按「確認」。", "Correct the marked fields, then press \"Confirm\" again.";

    // Field messages.
    IdEmpty => "請輸入身分證字號。", "Type your national ID number.";
    IdLength => "身分證字號共10碼，您輸入了 {found} 碼。", "A national ID number has 10 characters; you typed {found}.";
    IdFirstLetter => "身分證字號第1碼應為英文字母A至Z，不是「{found}」。", "A national ID number starts with a letter A–Z, not \"{found}\".";
    IdSecondDigit => "身分證字號第2碼應為1、2、8或9，不是「{found}」。", "The second character of a national ID number is 1, 2, 8 or 9, not \"{found}\".";
    IdDigit => "身分證字號第{position}碼應為數字，不是「{found}」。", "Character {position} of a national ID number is a digit, not \"{found}\".";
    IdChecksum => "身分證字號的檢查碼不符，可能有一碼輸入錯誤，請再核對一次。", "The check digit does not match: a character is probably mistyped. Please check the number.";
    IdRefusedByAuthority => "憑證管理中心不接受此身分證字號，請再核對一次。", "The certificate authority does not accept this ID number; please check it.";
    BirthdayEmpty => "請輸入出生年月日。", "Type your date of birth.";
    BirthdayFormat => "看不懂這個日期。請輸入民國年月日（例如 0790101 或 79/01/01）或西元日期（例如 1990-01-01）。", "This is not a date form we read. Type an ROC date (0790101 or 79/01/01) or a Gregorian one (1990-01-01).";
    BirthdayRocYearZero => "沒有民國0年；民國元年是西元1912年。", "There is no ROC year 0; ROC year 1 is 1912.";
    BirthdayNoSuchRocDate => "民國{year}年{month}月{day}日不是有效的日期。", "ROC {year}/{month}/{day} is not a date.";
    BirthdayNoSuchDate => "西元{year}年{month}月{day}日不是有效的日期。", "{year}-{month}-{day} is not a date.";
    BirthdayReadAs => "讀作 {date}", "Read as {date}";
    BirthdayRefusedByAuthority => "憑證管理中心不接受此出生年月日，請再核對一次。", "The certificate authority does not accept this date of birth; please check it.";
    PinEmpty => "請輸入PIN碼。", "Type your PIN.";
    PinTooShort => "PIN碼至少6碼，您輸入了 {found} 碼。", "A PIN has at least 6 characters; you typed {found}.";
    PinTooLong => "PIN碼最多8碼，您輸入了 {found} 碼。", "A PIN has at most 8 characters; you typed {found}.";
    PinNotAlphanumeric => "PIN碼只能是英文字母或數字（請使用半形字元）。", "A PIN has only letters and digits (half-width characters).";
    PinWrong => "PIN碼錯誤，還可以輸入 {n} 次。", "Wrong PIN: {n} tries left.";
    PinWrongLastTry => "PIN碼錯誤，只剩最後 {n} 次機會；再輸入錯誤，卡片將會鎖住。", "Wrong PIN: {n} try left. One more wrong PIN locks the card.";

    // Renewing.
    RenewingTitle => "展期作業進行中", "Renewing";
    RenewingResuming => "正在完成先前的展期。", "Finishing the earlier renewal.";
    DoNotRemoveCard => "展期作業包含簽發及寫入憑證，執行過程中，請勿將卡片抽出，以避免憑證展期失敗或是造成卡片損害。", "The renewal issues the certificates and writes them to the card. Do not remove the card while it runs: the renewal could fail or the card be damaged.";
    StepSign => "卡片簽章", "The card signs";
    StepIssue => "簽發憑證", "Issuing the certificates";
    StepWrite => "寫入憑證", "Writing them to the card";
    StepVerify => "確認寫入結果", "Checking what was written";
    StepStatusDone => "完成", "done";
    StepStatusRunning => "進行中", "in progress";
    StepStatusWaiting => "等候中", "waiting";

    // Done.
    DoneTitle => "展期作業成功", "Renewal successful";
    DoneEarlierTitle => "此卡片的展期已完成", "This card's renewal is complete";
    DoneEarlierExplanation => "這張卡片先前已完成展期，以下是該次展期的收執聯。", "This card was renewed earlier; here is that renewal's receipt.";
    DoneValidityBefore => "原有效期間", "Validity before";
    DoneValidityAfter => "展期後有效期間", "Validity after";
    DoneEightYears => "起始時間到終止時間總共為 {years} 年，即表示憑證展期成功。", "From start to end is {years} years: the renewal succeeded.";
    DoneRemoveCard => "您現在可以將卡片取出。", "You can take the card out now.";
    PrintReceipt => "列印收執聯", "Print the receipt";
    ValidityRange => "{from} 至 {until}", "{from} to {until}";

    // Information.
    InfoTitle => "展期須知", "About renewal";
    InfoServiceStart => "自97年3月1日起開辦自然人憑證展期服務。", "Renewal of citizen certificates has been offered since 1 March 2008 (ROC 97/03/01).";
    InfoEligibility => "自然人憑證5年到期前憑證為有效狀態者，可繼續辦理展期3年，共計8年。", "A citizen certificate that is valid until the end of its 5 years can be renewed for 3 years, 8 in all.";
    InfoWindow => "申請期間：憑證到期前60天至有效期限屆滿後3年內。因月份有大小月之分，可辦理展期的時間並非憑證到期日往回推算二個月；且憑證簽發時間記錄至時分秒，故以系統日期及時間為準。", "When: from 60 days before the certificate expires until 3 years after. 60 days, not two months, since months differ in length; and since issue times are kept to the second, the authority's system date and time decide.";
    InfoOnce => "每一張憑證展期僅限一次，展期後有效期限自憑證效期到期日起算三年。例如：到期日為107年5月1日，辦理展期後效期延長至110年5月1日止。", "Each certificate can be renewed once; the renewal adds 3 years from the expiry date. For example, expiry 1 May 2018 (ROC 107) becomes 1 May 2021 (ROC 110).";
    InfoFree => "基於便民服務，無論採用線上或臨櫃辦理憑證展期，均不收取費用。", "Renewal is free, online or at a counter.";
    InfoAfterEightTitle => "8年到期以後", "After the 8 years";
    InfoAfterEight => "為確保憑證使用之安全，憑證8年到期後自動失效。如仍有使用憑證之需求，請攜帶身分證正本、IC卡工本費250元及E-MAIL信箱，親臨任一戶政事務所重新申請自然人憑證（不限戶籍地，可跨縣市辦理）。", "For security a certificate expires for good after 8 years. To keep using one, apply for a new card at any household registration office, in any city: bring your national ID card (the original), the IC card fee of NT$250 and an e-mail address.";
    InfoCounterTitle => "臨櫃辦理", "At a counter";
    InfoCounter => "憑證到期前60天至有效期限屆滿後3年內，請本人持國民身分證及自然人憑證IC卡，親至各地戶政事務所辦理憑證展期（不限戶籍地，可跨縣市辦理）。若無法順利於線上完成展期，也請以此方式辦理。", "From 60 days before expiry until 3 years after, take your national ID card and the citizen certificate card in person to any household registration office, in any city. This is also the way if the online renewal does not work for you.";
    InfoHours => "戶政事務所受理時間為週一至週五，上午8:30至12:00、下午1:30至5:00。", "Household registration offices are open Monday to Friday, 08:30–12:00 and 13:30–17:00.";
    InfoDelegationTitle => "委託他人代辦", "Having someone else do it";
    InfoDelegation => "自103年7月1日起，除憑證申請及憑證廢止外，其他各項憑證作業均得委託他人至任一戶政事務所代為辦理。委託人及受委託人應先填妥「自然人憑證代辦事項委託書」並親筆簽名或用印，由受委託人攜帶該委託書、雙方之國民身分證正本及委託人之IC卡（停用、復用不需IC卡）辦理。", "Since 1 July 2014 (ROC 103/07/01) anyone may do any certificate task for you at any household registration office, except applying and revoking. You both fill in and sign (or stamp) the delegation form; your delegate brings it, both national ID cards (originals) and your card (not needed to suspend or resume a certificate).";
    InfoOfficesTitle => "中、永和申辦窗口", "Offices in Zhonghe and Yonghe";
    OfficeName => "單位名稱", "Office";
    OfficeAddress => "地址", "Address";
    OfficePhone => "電話", "Phone";
    OfficesLoading => "正在載入戶政事務所清單…", "Loading the list of offices…";
    OfficesFailed => "無法載入戶政事務所清單。請洽任一戶政事務所，或重新載入網頁。", "The list of offices could not be loaded. Any household registration office can help; or reload the page.";
    InfoOfficialSite => "內政部憑證管理中心網站", "The MOICA website";

    // Problems.
    NoReaderChosenTitle => "沒有選擇讀卡機", "No reader was chosen";
    NoReaderChosenExplanation => "瀏覽器的視窗已關閉，沒有選擇讀卡機。請確認讀卡機已插上，再選擇一次。", "The browser's window was closed without a reader chosen. Check that the reader is plugged in and choose again.";
    NoWebUsbTitle => "無法使用讀卡機", "The reader cannot be used";
    NoWebUsbExplanation => "此瀏覽器或此網頁的設定不允許使用USB裝置。請改用Chrome或Edge，或使用其他辦理方式。", "This browser, or this page's settings, do not allow USB devices. Use Chrome or Edge, or renew another way.";
    ReaderFailedTitle => "無法開啟讀卡機", "The reader could not be opened";
    ReaderFailedExplanation => "請拔下讀卡機再插上，然後重新選擇讀卡機。", "Unplug the reader, plug it in again, and choose it again.";
    ReaderGoneTitle => "讀卡機已中斷連線", "The reader was disconnected";
    ReaderGoneExplanation => "讀卡機被拔除或已中斷連線。請插回讀卡機後重新選擇讀卡機。", "The reader was unplugged or disconnected. Plug it in and choose it again.";
    CardGenerationTitle => "這張卡片無法使用網頁展期", "This card cannot be renewed on this page";
    CardGenerationExplanation => "這張自然人憑證IC卡的版本尚無法使用本網頁展期。請使用自然人憑證線上展期軟體，或至戶政事務所臨櫃辦理。", "This generation of citizen card cannot be renewed on this page yet. Use the official renewal program, or renew at a counter.";
    CertificateMissingTitle => "卡片中的憑證無法讀取", "The certificates on the card cannot be read";
    CertificateMissingExplanation => "卡片中缺少憑證或憑證已損壞，無法線上展期。請攜帶國民身分證與IC卡至任一戶政事務所洽詢。", "A certificate is missing from the card or damaged, so it cannot be renewed online. Take your national ID card and the card to any household registration office.";
    CertificateUnreadableExplanation => "卡片中的憑證不是可以展期的自然人憑證。請攜帶國民身分證與IC卡至任一戶政事務所洽詢。", "The certificates on the card are not citizen certificates that can be renewed. Take your national ID card and the card to any household registration office.";
    CardSignatureTitle => "卡片簽章驗證失敗", "The card's signature did not check out";
    CardSignatureExplanation => "卡片產生的簽章與卡片中的憑證不符。請重新插入卡片再試一次；若仍失敗，請至戶政事務所臨櫃辦理。", "The card's signature does not match its certificate. Reinsert the card and try again; if it fails again, renew at a counter.";
    WriteFailedTitle => "憑證寫入未完成", "The certificates were not written completely";
    WriteFailedExplanation => "新憑證寫入卡片後核對不符。已簽發的憑證不會遺失：請再試一次，系統會重新寫入同一筆展期的憑證。", "What the card holds after writing differs from the new certificates. Nothing issued is lost: try again and the same renewal's certificates are written again.";
    CardFailedTitle => "無法與卡片溝通", "The card could not be read";
    CardFailedExplanation => "讀卡機或卡片沒有正常回應。請取出卡片再重新插入後再試一次，或重新選擇讀卡機。", "The reader or the card did not answer properly. Take the card out, put it back, and try again; or choose the reader again.";
    AuthorityUnreachableTitle => "無法連線到憑證管理中心", "The certificate authority cannot be reached";
    AuthorityUnreachableExplanation => "請確認網路連線後再試一次。已完成的步驟不會遺失。", "Check your internet connection and try again. Steps already done are not lost.";
    AuthorityAnswerTitle => "憑證管理中心的回應無法辨識", "The certificate authority's answer was not understood";
    AuthorityAnswerExplanation => "請稍後再試一次；若持續發生，請重新載入網頁或至戶政事務所臨櫃辦理。", "Try again later; if it keeps happening, reload the page or renew at a counter.";
    OutOfStepTitle => "這一步沒有完成", "This step did not finish";
    OutOfStepExplanation => "網頁收到不屬於這一步的回應，為免出錯已先停下；卡片與展期紀錄都沒有遺失。請再試一次。", "The page got an answer that does not belong to this step and stopped so that nothing goes wrong; nothing on the card or on record is lost. Try again.";
    IssuedCertificatesWrongExplanation => "憑證管理中心簽發的憑證與這張卡片不符，因此沒有寫入卡片，卡片維持原狀。請再試一次，或至戶政事務所臨櫃辦理。", "The certificates the authority issued do not match this card, so nothing was written; the card is as it was. Try again, or renew at a counter.";
    AuthorityBusyTitle => "憑證管理中心忙碌中", "The certificate authority is busy";
    AuthorityBusyExplanation => "目前無法處理您的申請，沒有任何資料被變更。請稍候幾分鐘再試一次。", "Your request could not be handled now; nothing was changed. Wait a few minutes and try again.";
    PageOutdatedTitle => "網頁版本需要更新", "This page needs updating";
    PageOutdatedExplanation => "此網頁與憑證管理中心的版本不一致。請重新載入網頁後再試一次。", "This page and the certificate authority are of different versions. Reload the page and try again.";
    CertificateNotKnownTitle => "憑證管理中心查無此憑證", "The certificate authority does not know this certificate";
    CertificateNotKnownExplanation => "憑證管理中心查不到這張卡片的憑證資料，無法線上展期。請攜帶國民身分證與IC卡至任一戶政事務所洽詢。", "The certificate authority has no record of this card's certificates, so it cannot be renewed online. Take your national ID card and the card to any household registration office.";
    ProofFailedTitle => "身分驗證未通過", "Identity not confirmed";
    ProofFailedExplanation => "卡片的簽章未通過憑證管理中心的驗證，請確認身分證字號與出生年月日後再試一次；若仍失敗，請至戶政事務所臨櫃辦理。", "The card's signature did not pass the authority's check. Check your ID number and date of birth and try again; if it fails again, renew at a counter.";
    IdentityMismatchTitle => "身分資料不符", "The identity does not match";
    IdentityMismatchExplanation => "身分證字號或出生年月日與這張卡片持有人的資料不符，請再核對一次。", "The ID number or date of birth does not match this card's holder. Please check them.";
    SessionExpiredTitle => "作業已逾時", "The session expired";
    SessionExpiredExplanation => "這次作業已超過時限。請再試一次，系統會重新讀取卡片。", "This session ran out of time. Try again: the card is read afresh.";
    NotEligibleTitle => "目前無法展期", "Renewal is not possible now";
    NotEligibleExplanation => "憑證管理中心目前不接受這張憑證的展期。請重新讀取卡片查看原因。", "The certificate authority does not accept this renewal now. Read the card again to see why.";
    PinLockedTitle => "PIN碼已鎖住", "The PIN is locked";
    PinLockedExplanation => "PIN碼連續輸入錯誤，卡片已鎖住，無法線上展期。請本人攜帶國民身分證與自然人憑證IC卡，至任一戶政事務所辦理PIN碼解鎖後再辦理展期，或直接臨櫃辦理展期。請勿使用其他軟體嘗試解鎖，以免卡片永久無法使用。", "The PIN was typed wrong too many times and the card is locked; it cannot be renewed online. Take your national ID card and the card in person to any household registration office to unlock it, or renew there. Do not try other software to unlock it: the card could become unusable for good.";

    // Kiosk mode.
    KioskIdleTitle => "還在使用嗎？", "Are you still there?";
    KioskIdleCountdown => "{n} 秒後將回到首頁，並清除畫面上的資料。", "In {n} seconds the page goes back to the start and clears what is on the screen.";
    KioskKeepGoing => "繼續使用", "Keep going";
    KeypadLabel => "螢幕鍵盤", "On-screen keypad";
    KeypadDelete => "刪除", "Delete";
    KeypadClear => "清除", "Clear";
    KeypadNext => "下一欄", "Next field";

    // The operator guide (deploy/README.md, served at /deploy/), by situation.
    GuideTitle => "給管理人員：設定步驟（英文）", "For administrators: how to set it up";
    GuideIsolatedApp => "以 Isolated Web App 使用標準讀卡機", "Standard readers through the Isolated Web App";
    GuideLinuxKiosk => "Linux 服務站", "A Linux kiosk";
    GuideChromeOs => "ChromeOS 受管理裝置", "Managed ChromeOS devices";
    GuideWindows => "Windows：為讀卡機安裝 WinUSB 驅動程式", "Windows: the WinUSB driver for the reader";
    GuideUdev => "Linux：讀卡機使用權限（udev）", "Linux: reader permissions (udev)";
    GuidePcscd => "Linux：讓 pcscd 不占用讀卡機", "Linux: keeping pcscd off the reader";
    GuideMac => "macOS：釋放被占用的讀卡機", "macOS: releasing a held reader";
}
