import XCTest
@testable import Ledger
