import XCTest
final class FaultsPlaceholderTests: XCTestCase { func testPlaceholder() {} }
