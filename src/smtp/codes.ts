// Reply codes (RFC 5321 §4.2.2, RFC 4954 §6) and enhanced status codes without their
// class digit (RFC 3463 §3, RFC 5248 registry): formatReply adds the class.

/** Basic reply codes. */
export const C = {
  SystemStatus: 211,
  HelpMessage: 214,
  ServiceReady: 220,
  ServiceClosing: 221,
  AuthSuccess: 235, // RFC 4954
  Completed: 250,
  UserNotLocalWillForward: 251,
  CannotVerifyUser: 252,
  AuthContinue: 334, // RFC 4954
  StartMailInput: 354,
  ServiceNotAvailable: 421,
  PasswordTransitionNeeded: 432, // RFC 4954
  MailboxUnavailable: 450,
  LocalError: 451,
  InsufficientStorage: 452,
  TempAuthFailure: 454, // RFC 4954
  ParamsNotAccommodated: 455,
  CommandUnrecognized: 500,
  SyntaxErrorParams: 501,
  CommandNotImplemented: 502,
  BadSequence: 503,
  ParamNotImplemented: 504,
  AccountDisabled: 525, // RFC 5248 (the code registered with x.7.13)
  AuthRequired: 530, // RFC 4954
  AuthMechTooWeak: 534, // RFC 4954
  AuthInvalidCreds: 535, // RFC 4954
  EncryptionRequiredForAuth: 538, // RFC 4954
  MailboxUnavailablePerm: 550,
  UserNotLocal: 551,
  ExceededStorage: 552,
  MailboxNameNotAllowed: 553,
  TransactionFailed: 554,
  ParamsNotRecognized: 555,
} as const;

/** Enhanced status codes as "subject.detail"; the suffix digit repeats the detail. */
export const SE = {
  Other0: '0.0',
  // X.1 addressing (RFC 3463 §3.2)
  OtherAddress0: '1.0',
  BadDestMailbox1: '1.1',
  BadDestSystem2: '1.2',
  BadDestMailboxSyntax3: '1.3',
  DestMailboxAmbiguous4: '1.4',
  DestAddrValid5: '1.5',
  MailboxMoved6: '1.6',
  BadSenderSyntax7: '1.7',
  BadSenderSystem8: '1.8',
  NullMX10: '1.10', // RFC 7505
  // X.2 mailbox (RFC 3463 §3.3)
  OtherMailbox0: '2.0',
  MailboxDisabled1: '2.1',
  MailboxFull2: '2.2',
  MsgLimitExceeded3: '2.3',
  ListExpansion4: '2.4',
  // X.3 mail system (RFC 3463 §3.4)
  OtherMailSystem0: '3.0',
  MailSystemFull1: '3.1',
  NotAccepting2: '3.2',
  NotSupported3: '3.3',
  MsgTooBig4: '3.4',
  SystemMisconfigured5: '3.5',
  // X.4 network and routing (RFC 3463 §3.5)
  OtherNet0: '4.0',
  NoAnswer1: '4.1',
  BadConnection2: '4.2',
  DirectoryFailure3: '4.3',
  UnableToRoute4: '4.4',
  Congestion5: '4.5',
  RoutingLoop6: '4.6',
  DeliveryExpired7: '4.7',
  // X.5 protocol (RFC 3463 §3.6)
  OtherProto0: '5.0',
  InvalidCmd1: '5.1',
  SyntaxError2: '5.2',
  TooManyRcpts3: '5.3',
  InvalidParams4: '5.4',
  WrongProtoVersion5: '5.5',
  AuthLineTooLong6: '5.6', // RFC 4954
  // X.6 content (RFC 3463 §3.7)
  OtherMedia0: '6.0',
  MediaNotSupported1: '6.1',
  ConversionProhibited2: '6.2',
  ConversionUnsupported3: '6.3',
  ConversionLossy4: '6.4',
  ConversionFailed5: '6.5',
  NonASCIIAddrNotPermitted7: '6.7', // RFC 6531
  UTF8ReplyRequired8: '6.8', // RFC 6531
  UTF8HeaderNotTransferable9: '6.9', // RFC 6531
  // X.7 security and policy (RFC 3463 §3.8)
  OtherSecurity0: '7.0',
  DeliveryNotAuth1: '7.1',
  ExpnProhibited2: '7.2',
  SecurityConversion3: '7.3',
  SecurityFeatures4: '7.4',
  CryptoFailure5: '7.5',
  CryptoAlgo6: '7.6',
  MsgIntegrity7: '7.7',
  AuthBadCreds8: '7.8', // RFC 4954
  AuthWeakMech9: '7.9', // RFC 4954
  EncNeeded10: '7.10', // RFC 5248, RFC 8689
  EncReqForAuth11: '7.11', // RFC 4954
  PasswordTransition12: '7.12', // RFC 4954
  AccountDisabled13: '7.13', // RFC 5248
  NoDKIMPass20: '7.20', // RFC 7372
  NoAcceptableDKIM21: '7.21', // RFC 7372
  NoAuthorMatchedDKIM22: '7.22', // RFC 7372
  SPFFail23: '7.23', // RFC 7372
  SPFError24: '7.24', // RFC 7372
  ReverseDNSFail25: '7.25', // RFC 7372
  MultipleAuthFails26: '7.26', // RFC 7372 (DMARC rejects)
  SenderHasNullMX27: '7.27', // RFC 7505
} as const;
